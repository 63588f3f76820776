package wire

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
