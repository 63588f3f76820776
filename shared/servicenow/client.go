package servicenow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jitpim/jitpim/shared/domain"
)

// DateLayout is how the Table API writes date-times (in UTC) when
// sysparm_display_value is false.
const DateLayout = "2006-01-02 15:04:05"

// DefaultTimeout bounds each Table API call.
const DefaultTimeout = 15 * time.Second

// maxResponseBytes caps what is read from ServiceNow: one ticket is small.
const maxResponseBytes = 1 << 20

// maxNoteBytes caps a work note; journal entries are meant for people.
const maxNoteBytes = 16 << 10

// Config configures a Table API client.
type Config struct {
	// InstanceURL is https://<instance>.service-now.com. Plain http is
	// accepted for loopback addresses only (the simulator): the client
	// sends basic credentials with every call.
	InstanceURL string
	// User and Password are basic credentials of a ServiceNow integration
	// user that can read the three tables and write work notes.
	User, Password string
	// HTTPClient defaults to a client that follows no redirects (a
	// redirect usually means an SSO page, not the API).
	HTTPClient *http.Client
	// Timeout bounds each call (default 15s).
	Timeout time.Duration
}

// Client reads tickets and writes work notes through the Table API.
type Client struct {
	base     *url.URL
	user     string
	password string
	hc       *http.Client
	timeout  time.Duration
}

// UserRef is a sys_user a ticket points to. The strings identify the user
// to the directory lookup; they are never compared to decide access.
type UserRef struct {
	SysID, UserName, Email string
}

// IsZero reports whether the reference is empty (the field was not set).
func (u UserRef) IsZero() bool { return u.SysID == "" && u.UserName == "" && u.Email == "" }

// Ticket is what jitpim reads back from ServiceNow.
type Ticket struct {
	Table, Number, SysID, State string
	Caller                      UserRef // incident.caller_id
	AssignedTo                  UserRef
	OpenedBy                    UserRef
	RequestedBy                 UserRef // change_request.requested_by
	RequestedFor                UserRef // sc_req_item.requested_for
	PlannedStart, PlannedEnd    time.Time
	ShortDescription            string
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.InstanceURL == "" {
		return nil, domain.Invalid("instance_url", "is required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.InstanceURL, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, domain.Invalid("instance_url", "must be https://<instance>.service-now.com")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, domain.Invalid("instance_url", "must use https (http only for a loopback simulator)")
		}
	default:
		return nil, domain.Invalid("instance_url", "must use https")
	}
	u.Path = ""
	if cfg.User == "" {
		return nil, domain.Invalid("user", "is required")
	}
	if cfg.Password == "" {
		return nil, domain.Invalid("password", "is required")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{base: u, user: cfg.User, password: cfg.Password, hc: hc, timeout: timeout}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// refFields are the user references read per table, in Ticket order.
var refFields = map[string][]string{
	TableIncident:      {"caller_id", "assigned_to", "opened_by"},
	TableChangeRequest: {"requested_by", "assigned_to", "opened_by"},
	TableRequestedItem: {"requested_for", "assigned_to", "opened_by"},
}

func fieldsFor(table string) string {
	f := []string{"sys_id", "number", "state", "short_description"}
	if table == TableChangeRequest {
		f = append(f, "start_date", "end_date")
	}
	for _, r := range refFields[table] {
		f = append(f, r+".sys_id", r+".user_name", r+".email")
	}
	return strings.Join(f, ",")
}

// safeNumber is what a ticket number can look like. ServiceNow has no
// documented escape for '^' inside an encoded query, so a number that could
// carry "^OR…" or "^NQ…" is never put into one: it cannot name a ticket.
var safeNumber = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

func checkTable(table string) error {
	if _, ok := refFields[table]; !ok {
		return domain.Invalid("table", "must be incident, change_request or sc_req_item")
	}
	return nil
}

// GetTicket reads one ticket by number. A ticket that does not exist, or a
// number that cannot be one, is CodeNotFound.
func (c *Client) GetTicket(ctx context.Context, table, number string) (Ticket, error) {
	if err := checkTable(table); err != nil {
		return Ticket{}, err
	}
	if !safeNumber.MatchString(number) {
		return Ticket{}, domain.Errorf(domain.CodeNotFound, "ticket %q does not exist in %s: not a ticket number", clip(number), table)
	}
	q := url.Values{}
	q.Set("sysparm_query", "number="+number)
	q.Set("sysparm_limit", "1")
	q.Set("sysparm_fields", fieldsFor(table))
	q.Set("sysparm_display_value", "false") // raw state codes and UTC dates
	q.Set("sysparm_exclude_reference_link", "true")
	var body struct {
		Result []map[string]json.RawMessage `json:"result"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/now/table/"+table, q, nil, &body, "ticket "+number); err != nil {
		return Ticket{}, err
	}
	notFound := domain.Errorf(domain.CodeNotFound, "ticket %s does not exist in %s", number, table)
	if len(body.Result) == 0 {
		return Ticket{}, notFound
	}
	rec := body.Result[0]
	str := func(k string) string { return fieldValue(rec[k]) }
	// ServiceNow compares strings case-insensitively and, by default,
	// ignores a query term it cannot parse: only an exact match counts.
	if str("number") != number {
		return Ticket{}, notFound
	}
	t := Ticket{
		Table:            table,
		Number:           number,
		SysID:            str("sys_id"),
		State:            str("state"),
		ShortDescription: str("short_description"),
	}
	if !sysIDRe.MatchString(t.SysID) {
		return Ticket{}, domain.Errorf(domain.CodeInternal, "ServiceNow returned ticket %s without a valid sys_id", number)
	}
	ref := func(f string) UserRef {
		return UserRef{SysID: str(f + ".sys_id"), UserName: str(f + ".user_name"), Email: str(f + ".email")}
	}
	refs := refFields[table]
	first := ref(refs[0])
	switch table {
	case TableIncident:
		t.Caller = first
	case TableChangeRequest:
		t.RequestedBy = first
	case TableRequestedItem:
		t.RequestedFor = first
	}
	t.AssignedTo = ref("assigned_to")
	t.OpenedBy = ref("opened_by")
	var err error
	if t.PlannedStart, err = parseDate(str("start_date")); err != nil {
		return Ticket{}, domain.Wrap(domain.CodeInternal, err, "ServiceNow returned an unreadable start_date for %s", number)
	}
	if t.PlannedEnd, err = parseDate(str("end_date")); err != nil {
		return Ticket{}, domain.Wrap(domain.CodeInternal, err, "ServiceNow returned an unreadable end_date for %s", number)
	}
	return t, nil
}

// fieldValue reads a Table API value: a string, or a reference object
// {"link": …, "value": …} when reference links were not excluded.
func fieldValue(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var ref struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(raw, &ref) == nil {
		return ref.Value
	}
	return ""
}

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.ParseInLocation(DateLayout, s, time.UTC)
}

// codeTag matches ServiceNow's [code]…[/code] markers, which make a journal
// entry render as HTML.
var codeTag = regexp.MustCompile(`(?i)\[(/?)code\]`)

// AddWorkNote appends a work note (visible to fulfillers, not the caller)
// to a ticket. The note is plain text: [code] markers are defused so text
// that came from a requester cannot turn into HTML in the ServiceNow UI.
func (c *Client) AddWorkNote(ctx context.Context, table, sysID, note string) error {
	if err := checkTable(table); err != nil {
		return err
	}
	if !sysIDRe.MatchString(sysID) {
		return domain.Invalid("sys_id", "must be 32 hexadecimal characters")
	}
	if strings.TrimSpace(note) == "" {
		return domain.Invalid("note", "is required")
	}
	if len(note) > maxNoteBytes || !utf8.ValidString(note) {
		return domain.Invalid("note", "must be UTF-8 text of at most %d KiB", maxNoteBytes>>10)
	}
	note = codeTag.ReplaceAllString(note, "[ ${1}code]")
	payload, err := json.Marshal(map[string]string{"work_notes": note})
	if err != nil {
		return domain.Wrap(domain.CodeInternal, err, "encoding work note")
	}
	q := url.Values{}
	q.Set("sysparm_fields", "sys_id")
	q.Set("sysparm_exclude_reference_link", "true")
	var body struct {
		Result map[string]json.RawMessage `json:"result"`
	}
	return c.do(ctx, http.MethodPatch, "/api/now/table/"+table+"/"+strings.ToLower(sysID), q, payload, &body, "record "+sysID)
}

// snError is the Table API's error body.
type snError struct {
	Error struct {
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	} `json:"error"`
	Status string `json:"status"`
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, payload []byte, out any, what string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.base
	u.Path = path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return domain.Wrap(domain.CodeInternal, err, "building ServiceNow request")
	}
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "jitpim")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// Strip the URL from the cause: it is harmless, but the error is
		// logged and the message is what matters.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return domain.Wrap(domain.CodeTransient, err, "ServiceNow did not answer within %s", c.timeout)
		}
		return domain.Wrap(domain.CodeTransient, err, "ServiceNow could not be reached")
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return domain.Wrap(domain.CodeTransient, err, "reading ServiceNow's answer")
	}
	if len(data) > maxResponseBytes {
		return domain.Errorf(domain.CodeInternal, "ServiceNow's answer is larger than %d bytes", maxResponseBytes)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return domain.Wrap(domain.CodeInternal, err, "ServiceNow answered with unreadable JSON")
		}
		return nil
	}
	return statusError(resp, data, what)
}

func statusError(resp *http.Response, data []byte, what string) error {
	var e snError
	_ = json.Unmarshal(data, &e)
	var cause error
	if e.Error.Message != "" {
		cause = errors.New(clip(e.Error.Message))
	}
	st := resp.StatusCode
	switch {
	case st == http.StatusUnauthorized:
		return domain.Wrap(domain.CodeUnauthorized, cause, "ServiceNow refused jitpim's credentials (401)")
	case st == http.StatusForbidden:
		// The integration user lacks a role or an ACL: a setup problem,
		// not a reason to tell the requester "forbidden".
		return domain.Wrap(domain.CodeInternal, cause, "ServiceNow denied jitpim's integration user access to %s (403)", what)
	case st == http.StatusNotFound:
		return domain.Wrap(domain.CodeNotFound, cause, "%s does not exist in ServiceNow", what)
	case st == http.StatusTooManyRequests || st >= 500:
		msg := fmt.Sprintf("ServiceNow is unavailable (%d)", st)
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			if n, err := strconv.Atoi(ra); err == nil && n >= 0 {
				msg += fmt.Sprintf("; retry after %ds", n)
			}
		}
		return domain.Wrap(domain.CodeTransient, cause, "%s", msg)
	case st >= 300 && st < 400:
		return domain.Errorf(domain.CodeInternal, "ServiceNow redirected (%d): check the instance URL", st)
	}
	return domain.Wrap(domain.CodeInternal, cause, "ServiceNow answered %d", st)
}
