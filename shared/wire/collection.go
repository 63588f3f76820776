package wire

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Collection is an OData collection answer: one page of values and, when
// more follow, the link to the next page. V is the type of the page, a
// slice such as []Schedule; the server, which answers every resource
// through one handler signature, writes Collection[any].
type Collection[V any] struct {
	Context  string `json:"@odata.context,omitempty"`
	Value    V      `json:"value"`
	NextLink string `json:"@odata.nextLink,omitempty"`
}

// ErrorBody is Graph's error answer, sent with every status other than 2xx.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong; Target names the offending property
// or query option when there is one.
type ErrorDetail struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	Target     string     `json:"target,omitempty"`
	InnerError InnerError `json:"innerError"`
}

// InnerError carries the request id (the request-id header) and the time
// of the answer, which support staff ask for.
type InnerError struct {
	RequestID string `json:"request-id"`
	Date      string `json:"date"`
}

// Caller sends one API call and decodes the answer into out; the CLI's
// client and the policy file's API both are one.
type Caller interface {
	Call(ctx context.Context, method, path string, body any, headers map[string]string, out any) error
}

// maxPages bounds a listing, so a server that keeps answering with next
// links cannot keep a client busy forever.
const maxPages = 10000

// ListAll reads every page of the collection at path, asking for the
// largest page. Only the $skiptoken of a next link is used, so a link
// naming another host is never followed.
func ListAll[T any](ctx context.Context, api Caller, path string) ([]T, error) {
	var out []T
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := path + sep + "$top=999"
	for pages := 0; next != ""; pages++ {
		if pages == maxPages {
			return nil, fmt.Errorf("GET %s: too many pages", path)
		}
		var pg Collection[[]T]
		if err := api.Call(ctx, "GET", next, nil, nil, &pg); err != nil {
			return nil, err
		}
		out = append(out, pg.Value...)
		next = ""
		if pg.NextLink != "" {
			u, err := url.Parse(pg.NextLink)
			if err != nil {
				return nil, fmt.Errorf("GET %s: bad next link", path)
			}
			if tok := u.Query().Get("$skiptoken"); tok != "" {
				next = path + sep + "$top=999&$skiptoken=" + url.QueryEscape(tok)
			}
		}
	}
	return out, nil
}
