package servicenow

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jitpim/jitpim/shared/domain"
)

// Webhook header names and format.
const (
	HeaderTimestamp = "X-Jitpim-Timestamp" // unix seconds, decimal
	HeaderSignature = "X-Jitpim-Signature" // "v1=" + lowercase hex HMAC-SHA256
	SignaturePrefix = "v1="                // versioned so the scheme can change without ambiguity
	// SignaturePrefixBase64 marks the same MAC in base64, as ServiceNow computes it.
	SignaturePrefixBase64 = "v1b64="
	DefaultMaxSkew        = 5 * time.Minute
	MaxWebhookBytes       = 64 << 10 // a ticket reference and a justification never need more
)

// Tables jitpim accepts tickets from.
const (
	TableIncident      = "incident"
	TableChangeRequest = "change_request"
	TableRequestedItem = "sc_req_item"
)

// Webhook actions.
const (
	ActionActivate   = "activate"
	ActionDeactivate = "deactivate"
)

// WebhookAuth authenticates ServiceNow's calls.
type WebhookAuth struct {
	// Secrets are HMAC-SHA256 keys; any may verify so a key can be rotated
	// without downtime. The first is the current one. Empty keys are
	// ignored: an empty key would let anyone sign.
	Secrets [][]byte
	// BasicUser and BasicPassword enable HTTP basic auth as an alternative
	// for REST messages that cannot compute an HMAC. Either empty disables
	// it. Basic auth has no timestamp, so replay protection then rests on
	// the engine's idempotency key.
	BasicUser, BasicPassword string
	// MaxSkew bounds how far the signed timestamp may be from now, in both
	// directions (default 5m): it limits how long a captured call can be
	// replayed.
	MaxSkew time.Duration
}

func unauthorized(format string, args ...any) error {
	return domain.Errorf(domain.CodeUnauthorized, format, args...)
}

// Verify authenticates a webhook call. With a signature header it checks
// the timestamp and the HMAC; without one it checks basic auth, if enabled.
// Errors are CodeUnauthorized and say what was wrong, never what was
// expected.
func (a WebhookAuth) Verify(h http.Header, rawBody []byte, now time.Time) error {
	sigs := h.Values(HeaderSignature)
	if len(sigs) == 0 {
		if h.Get(HeaderTimestamp) != "" || !a.basicEnabled() {
			return unauthorized("signature missing")
		}
		return a.verifyBasic(h)
	}
	if len(sigs) > 1 {
		return unauthorized("more than one signature header")
	}
	keys := a.keys()
	if len(keys) == 0 {
		return unauthorized("signature authentication is not configured")
	}
	tss := h.Values(HeaderTimestamp)
	if len(tss) == 0 || tss[0] == "" {
		return unauthorized("timestamp missing")
	}
	if len(tss) > 1 {
		return unauthorized("more than one timestamp header")
	}
	tsHeader := tss[0]
	ts, ok := parseUnixSeconds(tsHeader)
	if !ok {
		return unauthorized("timestamp is not unix seconds")
	}
	skew := a.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	t := time.Unix(ts, 0)
	if now.Sub(t) > skew {
		return unauthorized("timestamp older than %s", humanDuration(skew))
	}
	if t.Sub(now) > skew {
		return unauthorized("timestamp more than %s in the future", humanDuration(skew))
	}
	got, ok := parseSignature(sigs[0])
	if !ok {
		return unauthorized("signature malformed: want %s followed by 64 lowercase hex digits", SignaturePrefix)
	}
	match := false
	for _, k := range keys {
		// Every key is tried, so timing does not tell which one matched.
		if hmac.Equal(got, mac(k, tsHeader, rawBody)) {
			match = true
		}
	}
	if !match {
		return unauthorized("signature does not match")
	}
	return nil
}

func (a WebhookAuth) keys() [][]byte {
	var out [][]byte
	for _, k := range a.Secrets {
		if len(k) > 0 {
			out = append(out, k)
		}
	}
	return out
}

func (a WebhookAuth) basicEnabled() bool { return a.BasicUser != "" && a.BasicPassword != "" }

func (a WebhookAuth) verifyBasic(h http.Header) error {
	if h.Get("Authorization") == "" {
		return unauthorized("signature and basic credentials missing")
	}
	user, pass, ok := (&http.Request{Header: h}).BasicAuth()
	if !ok {
		return unauthorized("authorization is not basic credentials")
	}
	// Hashing first keeps the lengths out of the timing; both comparisons
	// always run so timing does not tell whether the user name was right.
	uh, wu := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(a.BasicUser))
	ph, wp := sha256.Sum256([]byte(pass)), sha256.Sum256([]byte(a.BasicPassword))
	okUser := subtle.ConstantTimeCompare(uh[:], wu[:])
	okPass := subtle.ConstantTimeCompare(ph[:], wp[:])
	if okUser&okPass != 1 {
		return unauthorized("basic credentials do not match")
	}
	return nil
}

// parseUnixSeconds accepts only plain decimal digits: no sign, no spaces,
// no exponent, and few enough digits that nothing overflows.
func parseUnixSeconds(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 12 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseSignature accepts two canonical forms: "v1=" with 64 lowercase hex
// digits, and "v1b64=" with standard padded base64 (44 characters), which
// is what ServiceNow's GlideCertificateEncryption.generateMac returns, so a
// Business Rule needs no conversion. Each form has exactly one spelling.
func parseSignature(s string) ([]byte, bool) {
	if strings.HasPrefix(s, SignaturePrefixBase64) {
		enc := s[len(SignaturePrefixBase64):]
		b, err := base64.StdEncoding.Strict().DecodeString(enc)
		if err != nil || len(b) != sha256.Size || base64.StdEncoding.EncodeToString(b) != enc {
			return nil, false
		}
		return b, true
	}
	if !strings.HasPrefix(s, SignaturePrefix) {
		return nil, false
	}
	hx := s[len(SignaturePrefix):]
	if len(hx) != 2*sha256.Size {
		return nil, false
	}
	for i := 0; i < len(hx); i++ {
		c := hx[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return nil, false
		}
	}
	b, err := hex.DecodeString(hx)
	return b, err == nil
}

// mac signs the timestamp header exactly as sent, then the raw body: the
// body is never re-encoded, so what is verified is what was received.
func mac(secret []byte, tsHeader string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(tsHeader))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the two header values a sender sets: X-Jitpim-Timestamp and
// X-Jitpim-Signature. In ServiceNow script:
//
//	var ts = String(Math.floor(new Date().getTime() / 1000));
//	var sig = 'v1=' + hex(HMAC-SHA256(secret, ts + '.' + body));
func Sign(secret []byte, ts time.Time, body []byte) (timestampHeader, signatureHeader string) {
	timestampHeader = strconv.FormatInt(ts.Unix(), 10)
	signatureHeader = SignaturePrefix + hex.EncodeToString(mac(secret, timestampHeader, body))
	return timestampHeader, signatureHeader
}

func humanDuration(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "1 minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%d seconds", d/time.Second)
	}
	return d.String()
}

// Webhook is one parsed call from ServiceNow. It only names a ticket and a
// target: nothing in it is trusted until the ticket has been read back and
// checked.
type Webhook struct {
	Number, SysID, Table string // INC0012345, 32 hex chars, incident | change_request | sc_req_item
	Action               string // ActionActivate (default) | ActionDeactivate
	Requester            string // user_name (UPN) or e-mail as ServiceNow knows it

	// Exactly one target: a directory role (scope defaults to "/") or a
	// group (accessId defaults to "member").
	RoleDefinitionID domain.ObjectID
	DirectoryScopeID string
	GroupID          domain.ObjectID
	AccessID         string

	Duration      time.Duration // 0 = the policy's default
	Justification string
}

// Webhook JSON field names, in the order they are checked.
var webhookFields = []string{
	"number", "sys_id", "table", "action", "requested_by",
	"role_definition_id", "directory_scope_id", "group_id", "access_id",
	"duration", "justification",
}

var (
	numberRe   = regexp.MustCompile(`^[A-Za-z]{1,10}[0-9]{1,20}$`)
	sysIDRe    = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
	scopeRe    = regexp.MustCompile(`^/([A-Za-z0-9][A-Za-z0-9-]{0,99}(/[A-Za-z0-9][A-Za-z0-9-]{0,99})?)?$`)
	maxJustify = 1000 // runes; Entra refuses much longer justifications anyway
)

// ParseWebhook reads a webhook body strictly: unknown or repeated fields,
// non-string values and trailing data are refused, each problem a
// CodeInvalid naming the field. Strictness is deliberate: a misspelt
// "group_id" must not silently become "no group".
func ParseWebhook(body []byte) (Webhook, error) {
	var w Webhook
	if len(body) > MaxWebhookBytes {
		return w, domain.Invalid("body", "larger than %d KiB", MaxWebhookBytes>>10)
	}
	raw, err := readFlatObject(body)
	if err != nil {
		return w, err
	}
	get := func(k string) string { return raw[k] }

	w.Number = get("number")
	switch {
	case w.Number == "":
		return w, domain.Invalid("number", "is required")
	case !numberRe.MatchString(w.Number):
		return w, domain.Invalid("number", "must be a ServiceNow ticket number such as INC0012345")
	}
	w.SysID = strings.ToLower(get("sys_id"))
	switch {
	case w.SysID == "":
		return w, domain.Invalid("sys_id", "is required")
	case !sysIDRe.MatchString(w.SysID):
		return w, domain.Invalid("sys_id", "must be 32 hexadecimal characters")
	}
	w.Table = get("table")
	switch w.Table {
	case "":
		return w, domain.Invalid("table", "is required")
	case TableIncident, TableChangeRequest, TableRequestedItem:
	default:
		return w, domain.Invalid("table", "must be incident, change_request or sc_req_item")
	}
	w.Action = get("action")
	switch w.Action {
	case "":
		w.Action = ActionActivate
	case ActionActivate, ActionDeactivate:
	default:
		return w, domain.Invalid("action", "must be activate or deactivate")
	}
	w.Requester = get("requested_by")
	switch {
	case w.Requester == "":
		return w, domain.Invalid("requested_by", "is required")
	case len(w.Requester) > 256 || strings.IndexFunc(w.Requester, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	}) >= 0:
		return w, domain.Invalid("requested_by", "must be a user name or e-mail address without spaces")
	}

	rawRole, rawGroup := get("role_definition_id"), get("group_id")
	w.DirectoryScopeID = get("directory_scope_id")
	w.AccessID = get("access_id")
	switch {
	case rawRole != "" && rawGroup != "":
		return w, domain.Invalid("group_id", "give either role_definition_id or group_id, not both")
	case rawRole == "" && rawGroup == "":
		return w, domain.Invalid("role_definition_id", "one of role_definition_id or group_id is required")
	case rawRole != "":
		if w.RoleDefinitionID, err = domain.ParseObjectID("role_definition_id", rawRole); err != nil {
			return w, err
		}
		if w.AccessID != "" {
			return w, domain.Invalid("access_id", "applies only to a group target")
		}
		if w.DirectoryScopeID == "" {
			w.DirectoryScopeID = "/"
		} else if !scopeRe.MatchString(w.DirectoryScopeID) {
			return w, domain.Invalid("directory_scope_id", `must be "/" or "/<id>" such as /administrativeUnits/<id>`)
		}
	default:
		if w.GroupID, err = domain.ParseObjectID("group_id", rawGroup); err != nil {
			return w, err
		}
		if w.DirectoryScopeID != "" {
			return w, domain.Invalid("directory_scope_id", "applies only to a role target")
		}
		switch w.AccessID {
		case "":
			w.AccessID = "member"
		case "member", "owner":
		default:
			return w, domain.Invalid("access_id", "must be member or owner")
		}
	}

	if d := get("duration"); d != "" {
		if w.Action == ActionDeactivate {
			return w, domain.Invalid("duration", "does not apply to deactivate")
		}
		dur, err := domain.ParseISODuration(d)
		if err != nil {
			return w, &domain.Error{Code: domain.CodeInvalid, Field: "duration",
				Message: "duration: " + err.Error()}
		}
		if dur <= 0 {
			return w, domain.Invalid("duration", "must be longer than zero")
		}
		w.Duration = dur
	}
	w.Justification = get("justification")
	if err := domain.CheckText("justification", w.Justification, maxJustify, true); err != nil {
		return w, err
	}
	return w, nil
}

// readFlatObject decodes one JSON object whose values are all strings (or
// null, read as absent), refusing unknown and duplicate keys. Go's decoder
// would keep the last of two duplicate keys; a checker and an executor
// disagreeing on which one counts is how request smuggling starts.
func readFlatObject(body []byte) (map[string]string, error) {
	known := make(map[string]bool, len(webhookFields))
	for _, f := range webhookFields {
		known[f] = true
	}
	if !utf8.Valid(body) {
		return nil, domain.Invalid("body", "is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, domain.Invalid("body", "is not a JSON object")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, domain.Invalid("body", "is not a JSON object")
	}
	out := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, domain.Invalid("body", "is not valid JSON")
		}
		key, _ := tok.(string)
		if !known[key] {
			return nil, &domain.Error{Code: domain.CodeInvalid, Field: fieldName(key),
				Message: fmt.Sprintf("unknown field %q", clip(key))}
		}
		if seen[key] {
			return nil, domain.Invalid(key, "given more than once")
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, domain.Invalid("body", "is not valid JSON")
		}
		if string(v) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, domain.Invalid(key, "must be a string")
		}
		out[key] = s
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, domain.Invalid("body", "is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, domain.Invalid("body", "has data after the JSON object")
	}
	return out, nil
}

// fieldName is the Field of an unknown-field error: the name itself when it
// is printable and short, so the caller sees which one.
func fieldName(k string) string {
	if len(k) > 64 || strings.IndexFunc(k, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "body"
	}
	return k
}

func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}
