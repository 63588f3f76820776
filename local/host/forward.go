package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// hostVersion is what this host reports in X-Azure-Functions-HostVersion;
// the real host sends its own version there.
const hostVersion = "4.1037.0-jitpim-local"

// contentHeaders are the headers .NET's HttpRequestMessage keeps on its
// content, not on the request. The real host copies the client's headers
// with HttpRequestHeaders.TryAddWithoutValidation, which refuses these, and
// then re-adds only Content-Length and Content-Type: the others, among them
// Content-Encoding, never reach the handler.
var contentHeaders = map[string]bool{
	"Allow": true, "Content-Disposition": true, "Content-Encoding": true, "Content-Language": true,
	"Content-Length": true, "Content-Location": true, "Content-Md5": true, "Content-Range": true,
	"Content-Type": true, "Expires": true, "Last-Modified": true,
}

// hopHeaders belong to one connection; net/http manages them on each side.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// forwardClient sends forwarded requests as the real host's HttpClient
// does: no redirects followed, no cookies kept, no compression added, and
// no proxy (the handler is always local).
func forwardClient() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// forward proxies an HTTP request to the handler the way the real host does
// with enableForwardingHttpRequest on, for a function whose only bindings
// are an httpTrigger and an http output (DefaultHttpWorkerService.
// ProcessHttpInAndOutInvocationRequest and HttpRequestExtensions.
// ToHttpRequestMessage in azure-functions-host):
//   - the original path, and the query rebuilt from ASP.NET's query
//     collection (repeated keys joined with commas, keys matched
//     case-insensitively, every value percent-encoded again);
//   - the client's headers except the content headers above, plus
//     Content-Type and Content-Length, X-Azure-Functions-InvocationId,
//     X-Azure-Functions-HostVersion, and the host's User-Agent product;
//   - the body, streamed as it arrives, only when Content-Length is
//     positive: a chunked body without Content-Length is not forwarded;
//   - the handler's answer relayed as it is, whatever its status.
func (h *host) forward(w http.ResponseWriter, r *http.Request, fn *function) {
	if r.ContentLength > maxRequestBody {
		// Kestrel refuses a declared length over MaxRequestBodySize before
		// the function runs.
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	var body io.Reader
	if r.ContentLength > 0 {
		body = r.Body
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, h.inv.base+r.URL.EscapedPath()+forwardedQuery(r.URL.RawQuery), body)
	if err != nil {
		http.Error(w, "function invocation failed", http.StatusInternalServerError)
		return
	}
	for k, vs := range r.Header {
		if contentHeaders[http.CanonicalHeaderKey(k)] || hopHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		out.Header[k] = append([]string(nil), vs...)
	}
	if body != nil {
		out.ContentLength = r.ContentLength
		if ct := r.Header.Get("Content-Type"); ct != "" {
			out.Header.Set("Content-Type", ct)
		}
	}
	out.Host = r.Host
	id := uuid.NewString()
	out.Header.Set("X-Azure-Functions-InvocationId", id)
	out.Header.Set("X-Azure-Functions-HostVersion", hostVersion)
	out.Header.Set("User-Agent", strings.TrimSpace(r.UserAgent()+" Azure-Functions-Host/"+hostVersion))

	h.logf("executing %s (reason: HTTP request, forwarded, id: %s)", fn.Name, id)
	res, err := h.fwd.Do(out)
	if err != nil {
		h.logf("executed %s (failed, id: %s): %v", fn.Name, id, err)
		http.Error(w, "function invocation failed", http.StatusInternalServerError)
		return
	}
	defer res.Body.Close()
	h.logf("executed %s (succeeded, id: %s, status %d)", fn.Name, id, res.StatusCode)
	for k, vs := range res.Header {
		if !hopHeaders[http.CanonicalHeaderKey(k)] {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

// forwardedQuery rebuilds a query string as the real host does: ASP.NET
// parses it into a case-insensitive collection and the host writes each
// key once with its values comma-joined (QueryHelpers.AddQueryString over
// GetQueryCollectionAsDictionary), percent-encoding all but unreserved
// characters. Empty query, empty result.
func forwardedQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var order []string
	vals := map[string][]string{}
	first := map[string]string{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || k == "" {
			continue // ASP.NET's parser drops what it cannot read
		}
		lk := strings.ToLower(k)
		if _, ok := first[lk]; !ok {
			first[lk] = k
			order = append(order, lk)
		}
		vals[lk] = append(vals[lk], v)
	}
	if len(order) == 0 {
		return ""
	}
	var b strings.Builder
	for i, lk := range order {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(escapeUnreserved(first[lk]))
		b.WriteByte('=')
		b.WriteString(escapeUnreserved(strings.Join(vals[lk], ",")))
	}
	return b.String()
}

// escapeUnreserved percent-encodes every byte outside RFC 3986's
// unreserved set, as .NET's UrlEncoder.Default does.
func escapeUnreserved(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
