package tablestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

// DevelopmentStorage is the connection string that UseDevelopmentStorage=true
// stands for: Azurite's table endpoint with its well-known account key.
const DevelopmentStorage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"

// Options tune a Store. The zero value is fine for production.
type Options struct {
	// TablePrefix is put before every table name (letters and digits,
	// starting with a letter), so environments or tests can share an
	// account.
	TablePrefix string
	// Client configures the HTTP pipeline, e.g. Transport for fault
	// injection. Its retry settings are ignored: the store retries by itself
	// so that it can tell a retried write that landed from a real conflict.
	Client *policy.ClientOptions
	// Now is the clock used to age index entries; time.Now by default.
	Now func() time.Time
	// MaxAttempts is how many times one HTTP request is tried on a
	// transient failure (429, 5xx, timeouts, broken connections); 4 by default.
	MaxAttempts int
	// RetryDelay is the first backoff, doubled per retry with jitter and
	// capped at 2 s; 100 ms by default.
	RetryDelay time.Duration
	// TryTimeout bounds one HTTP request; 20 s by default.
	TryTimeout time.Duration
	// ServiceURL and Credential select identity-based access (the way
	// production runs: storage accounts with shared keys disabled). When
	// Credential is set, New and OpenAuditReader take no connection string
	// and reach the table endpoint at ServiceURL, e.g.
	// https://<account>.table.core.windows.net, with Entra tokens for
	// https://storage.azure.com. The endpoint must be https: azcore refuses
	// to send a bearer token over plain HTTP.
	ServiceURL string
	Credential azcore.TokenCredential
}

// Table names, after the prefix.
const (
	tblRequests      = "Requests"
	tblRequestIndex  = "RequestIndex"
	tblSchedules     = "Schedules"
	tblScheduleIndex = "ScheduleIndex"
	tblGrants        = "Grants"
	tblGrantIndex    = "GrantIndex"
	tblPolicies      = "Policies"
	tblAudit         = "Audit"
	tblMail          = "Mail"
	tblAlerts        = "Alerts"
	// Access reviews (reviews.go): definitions and instances, and the
	// decision items with their reviewer index, one partition per instance.
	tblReviews         = "Reviews"
	tblReviewDecisions = "ReviewDecisions"
)

// tableNames lists every table a store uses, fresh on each call so that
// no caller can change the list for another.
func tableNames() []string {
	return []string{tblRequests, tblRequestIndex, tblSchedules, tblScheduleIndex, tblGrants, tblGrantIndex, tblPolicies, tblAudit,
		tblMail, tblAlerts, tblReviews, tblReviewDecisions}
}

const (
	// staleGrace is how old an index entry must be before a reader that
	// finds it unreferenced deletes it: younger ones may belong to a write
	// still in flight (index first, then the entity).
	staleGrace = 10 * time.Minute
	// writeDeadline bounds the time between writing index entries and
	// sending the entity that references them, far below staleGrace.
	writeDeadline = time.Minute
	// cacheMax bounds the version cache.
	cacheMax = 20000
	// fanOut bounds concurrent requests of one operation.
	fanOut = 8
)

// Store is domain.Store on Azure Table Storage. It is safe for concurrent
// use, also by many processes against one account.
type Store struct {
	svc   *aztables.ServiceClient
	audit *aztables.Client

	// One value per kind of record: its table(s), key and encoding.
	requests    *indexed[domain.Request]
	schedules   *indexed[domain.Schedule]
	grants      *indexed[domain.Grant]
	policies    *table[domain.Policy]
	mail        *table[domain.Mail]
	claims      *table[claim]
	alerts      *table[domain.Alert]
	definitions *table[domain.ReviewDefinition]
	instances   *table[domain.ReviewInstance]
	decisions   *table[domain.ReviewDecision]

	now         func() time.Time
	maxAttempts int
	retryDelay  time.Duration
	tryTimeout  time.Duration

	roundTrips atomic.Int64

	policyCache policyCache

	mu    sync.Mutex
	cache map[string]cached // family|id → index refs of a known version
	head  auditHead         // last audit chain head this process wrote
}

var _ domain.Store = (*Store)(nil)

// New connects to the account named by connectionString (an
// AzureWebJobsStorage-style string; "UseDevelopmentStorage=true" means
// Azurite on 127.0.0.1:10002), or, when opts.Credential is set, to
// opts.ServiceURL with that credential and an empty connectionString; then
// it creates the tables that are missing.
func New(ctx context.Context, connectionString string, opts Options) (*Store, error) {
	s, err := connect(connectionString, opts)
	if err != nil {
		return nil, err
	}
	if err := s.ensureTables(ctx, opts.TablePrefix); err != nil {
		return nil, err
	}
	return s, nil
}

// connect builds the clients of a store and sends nothing: read-only
// callers (OpenAuditReader) must not create tables.
func connect(connectionString string, opts Options) (*Store, error) {
	conn := strings.TrimSpace(connectionString)
	if strings.EqualFold(strings.TrimRight(conn, ";"), "UseDevelopmentStorage=true") {
		conn = DevelopmentStorage
	}
	// Exactly one way in: a store that silently preferred one of two
	// configured accounts could write Tier-0 state somewhere unexpected.
	switch {
	case opts.Credential != nil && conn != "":
		return nil, domain.Errorf(domain.CodeInvalid, "tablestore: give either a connection string or a credential with a service URL, not both")
	case opts.Credential != nil && !strings.HasPrefix(opts.ServiceURL, "https://"):
		return nil, domain.Errorf(domain.CodeInvalid, "tablestore: a credential needs an https service URL, got %q", opts.ServiceURL)
	case opts.Credential == nil && opts.ServiceURL != "":
		return nil, domain.Errorf(domain.CodeInvalid, "tablestore: service URL %q given without a credential", opts.ServiceURL)
	case opts.Credential == nil && conn == "":
		return nil, domain.Errorf(domain.CodeInvalid, "tablestore: no connection string")
	}
	if !validPrefix(opts.TablePrefix) {
		return nil, domain.Invalid("tablePrefix", "must be up to 40 letters and digits starting with a letter, got %q", opts.TablePrefix)
	}
	s := &Store{
		now:         opts.Now,
		maxAttempts: opts.MaxAttempts,
		retryDelay:  opts.RetryDelay,
		tryTimeout:  opts.TryTimeout,
		cache:       map[string]cached{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = 4
	}
	if s.retryDelay <= 0 {
		s.retryDelay = 100 * time.Millisecond
	}
	if s.tryTimeout <= 0 {
		s.tryTimeout = 20 * time.Second
	}
	var co policy.ClientOptions
	if opts.Client != nil {
		co = *opts.Client
	}
	co.Retry = policy.RetryOptions{MaxRetries: -1}
	co.PerRetryPolicies = append(append([]policy.Policy(nil), co.PerRetryPolicies...), countPolicy{&s.roundTrips}, batchETags{})
	var svc *aztables.ServiceClient
	var err error
	if opts.Credential != nil {
		svc, err = aztables.NewServiceClient(strings.TrimRight(opts.ServiceURL, "/"), opts.Credential, &aztables.ClientOptions{ClientOptions: co})
		if err != nil {
			return nil, domain.Wrap(domain.CodeInvalid, err, "tablestore: bad service URL %q", opts.ServiceURL)
		}
	} else {
		svc, err = aztables.NewServiceClientFromConnectionString(conn, &aztables.ClientOptions{ClientOptions: co})
		if err != nil {
			return nil, domain.Wrap(domain.CodeInvalid, err, "tablestore: bad connection string")
		}
	}
	s.svc = svc
	name := func(t string) *aztables.Client { return svc.NewClient(opts.TablePrefix + t) }
	s.audit = name(tblAudit)
	s.requests = requestRecords(s, name(tblRequests), name(tblRequestIndex))
	s.schedules = scheduleRecords(s, name(tblSchedules), name(tblScheduleIndex))
	s.grants = grantRecords(s, name(tblGrants), name(tblGrantIndex))
	s.policies = policyRecords(s, name(tblPolicies))
	mail := name(tblMail)
	s.mail, s.claims = mailRecords(s, mail), claimRecords(s, mail)
	s.alerts = alertRecords(s, name(tblAlerts))
	reviews := name(tblReviews)
	s.definitions, s.instances = definitionRecords(s, reviews), instanceRecords(s, reviews)
	s.decisions = decisionRecords(s, name(tblReviewDecisions))
	return s, nil
}

func validPrefix(p string) bool {
	if len(p) > 40 {
		return false
	}
	for i, c := range p {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// ensureTables lists the tables once and creates the missing ones, so a
// warm start costs one round trip.
func (s *Store) ensureTables(ctx context.Context, prefix string) error {
	have := map[string]bool{}
	filter := fmt.Sprintf("TableName ge %s and TableName lt %s", odataString(prefix+"A"), odataString(prefix+"{"))
	var next *string
	for {
		var page aztables.ListTablesResponse
		err := s.try(ctx, func(ctx context.Context, _ bool) error {
			var err error
			page, err = s.svc.NewListTablesPager(&aztables.ListTablesOptions{Filter: &filter, NextTableName: next}).NextPage(ctx)
			return err
		})
		if err != nil {
			return s.fail(err, "listing the tables")
		}
		for _, t := range page.Tables {
			if t.Name != nil {
				have[strings.ToLower(*t.Name)] = true
			}
		}
		if page.NextTableName == nil || *page.NextTableName == "" {
			break
		}
		next = page.NextTableName
	}
	var missing []string
	for _, t := range tableNames() {
		if !have[strings.ToLower(prefix+t)] {
			missing = append(missing, prefix+t)
		}
	}
	errs := parallel(len(missing), func(i int) error {
		err := s.try(ctx, func(ctx context.Context, _ bool) error {
			_, err := s.svc.CreateTable(ctx, missing[i], nil)
			return err
		})
		if statusOf(err) == http.StatusConflict { // TableAlreadyExists: another instance won
			return nil
		}
		if err != nil {
			return s.fail(err, "creating table %s", missing[i])
		}
		return nil
	})
	return errors.Join(errs...)
}

// RoundTrips returns how many HTTP requests the store has sent.
func (s *Store) RoundTrips() int64 { return s.roundTrips.Load() }

// ResetRoundTrips sets the round-trip count to zero.
func (s *Store) ResetRoundTrips() { s.roundTrips.Store(0) }

type countPolicy struct{ n *atomic.Int64 }

func (p countPolicy) Do(req *policy.Request) (*http.Response, error) {
	p.n.Add(1)
	return req.Next()
}

// --- retries and errors -----------------------------------------------------

// errDeadline stops a write whose index entries have grown too old.
var errDeadline = errors.New("tablestore: index entries written too long ago; the write was not sent")

// try runs f until it succeeds, fails for good, or the attempts run out.
// retried tells f that an earlier attempt failed in a way that may have
// applied its write (a timeout, a broken connection, a 5xx), so that a
// 409 or 412 now may be its own earlier success.
func (s *Store) try(ctx context.Context, f func(ctx context.Context, retried bool) error) error {
	retried := false
	for attempt := 1; ; attempt++ {
		tctx, cancel := context.WithTimeout(ctx, s.tryTimeout)
		err := f(tctx, retried)
		cancel()
		if err == nil || !transient(ctx, err) {
			return err
		}
		if attempt >= s.maxAttempts {
			return &exhausted{err}
		}
		retried = true
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return err
		}
	}
}

func (s *Store) backoff(attempt int) time.Duration {
	d := s.retryDelay << (attempt - 1)
	if d > 2*time.Second || d <= 0 {
		d = 2 * time.Second
	}
	// ±50% jitter so that colliding writers spread out.
	j, _ := rand.Int(rand.Reader, big.NewInt(int64(d)+1))
	return d/2 + time.Duration(j.Int64())
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// exhausted marks a transient failure that outlasted the retries.
type exhausted struct{ err error }

func (e *exhausted) Error() string { return e.err.Error() }
func (e *exhausted) Unwrap() error { return e.err }

// transient reports whether err is worth another try. ctx is the caller's
// context: once it is done nothing is retried.
func transient(ctx context.Context, err error) bool {
	return ctx.Err() == nil && transientErr(err)
}

// transientErr reports whether err is a failure of the service or the
// network that another try may not meet.
func transientErr(err error) bool {
	if err == nil || errors.Is(err, errDeadline) || errors.Is(err, context.Canceled) {
		return false
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		case http.StatusAccepted: // a failed batch: look at the operation that failed
			st := batchStatus(re)
			return st == http.StatusInternalServerError || st == http.StatusServiceUnavailable || st == http.StatusTooManyRequests
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// statusOf is the HTTP status of a failed request (for a failed batch, of
// the operation that failed), 0 for errors without one.
func statusOf(err error) int {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return 0
	}
	if re.StatusCode == http.StatusAccepted {
		return batchStatus(re)
	}
	return re.StatusCode
}

// batchStatus digs the failed operation's status out of a batch response:
// aztables reports a failed entity group transaction as a ResponseError
// with the outer 202 and the multipart body.
func batchStatus(re *azcore.ResponseError) int {
	if re.RawResponse == nil {
		return 0
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return 0
	}
	text := string(body)
	for {
		i := strings.Index(text, "HTTP/1.1 ")
		if i < 0 {
			return 0
		}
		text = text[i+len("HTTP/1.1 "):]
		var code int
		if _, err := fmt.Sscanf(text, "%d", &code); err == nil && code >= 400 {
			return code
		}
	}
}

// fail turns a storage error into a domain error, keeping the cause.
func (s *Store) fail(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	what := fmt.Sprintf(format, args...)
	var ex *exhausted
	switch st := statusOf(err); {
	case errors.As(err, &ex):
		return domain.Wrap(domain.CodeTransient, err, "storage is unavailable (%s); try again", what)
	case errors.Is(err, errDeadline):
		return domain.Wrap(domain.CodeTransient, err, "storage is slow (%s); try again", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return domain.Wrap(domain.CodeTransient, err, "%s: the request was canceled or timed out", what)
	case st == http.StatusNotFound:
		return domain.Wrap(domain.CodeNotFound, err, "%s: not found", what)
	case st == http.StatusConflict:
		return domain.Wrap(domain.CodeConflict, err, "%s: it already exists", what)
	case st == http.StatusPreconditionFailed:
		return domain.Wrap(domain.CodeConflict, err, "%s: it was changed by someone else; read it again", what)
	case st == http.StatusBadRequest || st == http.StatusRequestEntityTooLarge:
		return domain.Wrap(domain.CodeInvalid, err, "%s: storage refused the data", what)
	case transientErr(err):
		return domain.Wrap(domain.CodeTransient, err, "storage is unavailable (%s); try again", what)
	}
	return domain.Wrap(domain.CodeInternal, err, "storage failed (%s)", what)
}

// --- small helpers ----------------------------------------------------------

// parallel runs f for 0..n-1 with at most fanOut at once.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	if n == 1 {
		errs[0] = f(0)
		return errs
	}
	sem := make(chan struct{}, fanOut)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

func writeID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("tablestore: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// get reads one entity.
func (s *Store) get(ctx context.Context, c *aztables.Client, pk, rk string) (entity, error) {
	var e entity
	err := s.try(ctx, func(ctx context.Context, _ bool) error {
		resp, err := c.GetEntity(ctx, pk, rk, nil)
		if err != nil {
			return err
		}
		e, err = unmarshalEntity(resp.Value, string(resp.ETag))
		return err
	})
	return e, err
}

// queryPage reads one page of a query.
func (s *Store) queryPage(ctx context.Context, c *aztables.Client, filter string, top int, npk, nrk *string) (ents []entity, nextPK, nextRK *string, err error) {
	opts := &aztables.ListEntitiesOptions{NextPartitionKey: npk, NextRowKey: nrk}
	if filter != "" {
		opts.Filter = &filter
	}
	if top > 0 {
		t := int32(min(top, 1000))
		opts.Top = &t
	}
	err = s.try(ctx, func(ctx context.Context, _ bool) error {
		page, err := c.NewListEntitiesPager(opts).NextPage(ctx)
		if err != nil {
			return err
		}
		ents = ents[:0]
		for _, b := range page.Entities {
			e, err := unmarshalEntity(b, "")
			if err != nil {
				return err
			}
			ents = append(ents, e)
		}
		nextPK, nextRK = page.NextPartitionKey, page.NextRowKey
		return nil
	})
	if nextPK != nil && *nextPK == "" && (nextRK == nil || *nextRK == "") {
		nextPK, nextRK = nil, nil
	}
	return ents, nextPK, nextRK, err
}

// query reads up to max entities (all when max <= 0), following
// continuations.
func (s *Store) query(ctx context.Context, c *aztables.Client, filter string, max int) ([]entity, bool, error) {
	var out []entity
	var npk, nrk *string
	for {
		top := 1000
		if max > 0 {
			top = max - len(out)
		}
		ents, pk, rk, err := s.queryPage(ctx, c, filter, top, npk, nrk)
		if err != nil {
			return nil, false, err
		}
		out = append(out, ents...)
		if pk == nil && rk == nil {
			return out, false, nil
		}
		if max > 0 && len(out) >= max {
			return out, true, nil
		}
		npk, nrk = pk, rk
	}
}

// del deletes an entity, treating "already gone" as done.
func (s *Store) del(ctx context.Context, c *aztables.Client, pk, rk string, etag string) error {
	var opts *aztables.DeleteEntityOptions
	if etag != "" {
		e := azcore.ETag(etag)
		opts = &aztables.DeleteEntityOptions{IfMatch: &e}
	}
	err := s.try(ctx, func(ctx context.Context, _ bool) error {
		_, err := c.DeleteEntity(ctx, pk, rk, opts)
		return err
	})
	if statusOf(err) == http.StatusNotFound {
		return nil
	}
	return err
}

// etagSlot is where batchETags puts the ETags a transaction's answer
// carries, for a caller that asks by putting a slot in the context.
type etagSlot struct{ etags []string }

type etagSlotKey struct{}

// batchETagRE finds the ETag header of each operation in a transaction's
// multipart answer, in the order of the operations.
var batchETagRE = regexp.MustCompile(`(?im)^ETag:[ \t]*([^\r\n]+)`)

// batchETags reads the ETags of a transaction's answer, which the SDK
// drops (TransactionResponse has no fields), so that a write sent as a
// transaction need not read its entity back for the new Version.
type batchETags struct{}

func (batchETags) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	slot, _ := req.Raw().Context().Value(etagSlotKey{}).(*etagSlot)
	if err != nil || slot == nil || resp == nil || resp.StatusCode != http.StatusAccepted || resp.Body == nil {
		return resp, err
	}
	// Payload leaves the body readable again (the pipeline buffered it),
	// which the SDK and its error answers rely on.
	body, rerr := runtime.Payload(resp)
	if rerr != nil {
		return resp, nil
	}
	slot.etags = slot.etags[:0]
	for _, m := range batchETagRE.FindAllSubmatch(body, -1) {
		slot.etags = append(slot.etags, strings.TrimSpace(string(m[1])))
	}
	return resp, nil
}
