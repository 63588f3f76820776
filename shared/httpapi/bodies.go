package httpapi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
)

// MaxRequestBody bounds every request body jitpim reads, on the wire and
// again after decompression: the largest valid body (a policy rule, a
// ServiceNow webhook) is far smaller, and a small gzip body can inflate to
// gigabytes.
const MaxRequestBody = 64 << 10

// gzipMagic opens every gzip stream. No JSON text, form or empty body can
// start with it (0x1f is a control character), so a body that does is gzip.
var gzipMagic = []byte{0x1f, 0x8b}

// Bodies makes request bodies what Microsoft Graph accepts before next sees
// them: plain or gzip-compressed (`Content-Encoding: gzip`, which the Graph
// SDKs send by default), at most MaxRequestBody bytes on the wire and
// decoded. next gets the decoded bytes with Content-Encoding removed.
// Refusals carry a Graph error body: 413 for a body that is too large
// (judged from Content-Length before reading when the client sends one),
// 415 for any other Content-Encoding, 400 for a broken gzip stream.
//
// A body that starts with gzip's magic bytes is decoded even without the
// header, because the Functions host drops Content-Encoding when it
// forwards a request to the handler (README, "Custom handler protocol").
func Bodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readRequestBody(r, MaxRequestBody)
		if err != nil {
			setRequestID(w, r)
			writeError(w, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Del("Content-Encoding")
		next.ServeHTTP(w, r)
	})
}

// setRequestID answers with Graph's request-id and client-request-id
// headers: the caller's client-request-id when it sent a usable one.
func setRequestID(w http.ResponseWriter, r *http.Request) string {
	id := r.Header.Get("client-request-id")
	if id == "" || len(id) > 100 {
		id = uuid.NewString()
	}
	w.Header().Set("request-id", id)
	w.Header().Set("client-request-id", id)
	return id
}

func tooLarge(limit int64) error {
	return domain.Errorf(domain.CodeTooLarge, "the request body is larger than %d bytes (after decompression too); jitpim reads at most that", limit)
}

// readRequestBody reads and decodes r's body within limit.
func readRequestBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	gz, err := isGzip(r.Header)
	if err != nil {
		return nil, err
	}
	wire := bufio.NewReader(&capReader{r: r.Body, left: limit, err: tooLarge(limit)})
	if !gz {
		if magic, _ := wire.Peek(len(gzipMagic)); bytes.Equal(magic, gzipMagic) {
			gz = true
		}
	}
	if !gz {
		return readAllTransport(wire)
	}
	zr, err := gzip.NewReader(wire)
	if err != nil {
		return nil, gzipProblem(err)
	}
	data, err := readAllTransport(&capReader{r: zr, left: limit, err: tooLarge(limit)})
	if err != nil {
		return nil, gzipProblem(err)
	}
	return data, nil
}

// isGzip reads Content-Encoding: none, identity or gzip; anything else
// (other codings, or more than one) is refused rather than misread.
func isGzip(h http.Header) (bool, error) {
	var codings []string
	for _, v := range h.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
				codings = append(codings, c)
			}
		}
	}
	switch {
	case len(codings) == 0:
		return false, nil
	case len(codings) == 1 && (codings[0] == "gzip" || codings[0] == "x-gzip"):
		return true, nil
	}
	return false, &domain.Error{Code: domain.CodeUnsupportedEncoding, Field: "Content-Encoding",
		Message: "Content-Encoding: " + strings.Join(codings, ", ") + " is not supported; send the body plain or with gzip"}
}

func readAllTransport(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			return nil, de
		}
		return nil, domain.Wrap(domain.CodeInvalid, err, "could not read the request body")
	}
	return data, nil
}

func gzipProblem(err error) error {
	var de *domain.Error
	if errors.As(err, &de) {
		return de
	}
	return domain.Invalid("body", "is not a valid gzip stream (Content-Encoding: gzip): %v", err)
}

// capReader reads at most left bytes from r and fails with err if r has
// more, so an oversized body is refused without being read to its end.
type capReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var probe [1]byte
		n, err := c.r.Read(probe[:])
		if n > 0 {
			return 0, c.err
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
