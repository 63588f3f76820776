package e2e

// The Graph SDK conformance suite: the official msgraph-sdk-go (the version
// in go.mod) with its default middleware, compression on, drives the real
// handler through the local host, as README promises a Graph client can.
// It lives in this package so that the SDK is linked into one test binary
// only.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"

	"github.com/jitpim/jitpim/local/stack"
)

// Targets the other end-to-end tests leave alone.
const (
	roleReportsReader  = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	roleSecurityAdmin  = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	groupServiceDeskL2 = "fd18fbab-889e-4318-9420-ac969cd2cf64"
)

// wire records what went over the wire below the SDK's middleware.
type wire struct {
	mu       sync.Mutex
	exchange []exchange
}

type exchange struct {
	method, path, encoding string
	status                 int
	requestID, clientReqID string
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	x := exchange{method: r.Method, path: r.URL.Path, encoding: r.Header.Get("Content-Encoding")}
	if res != nil {
		x.status, x.requestID, x.clientReqID = res.StatusCode, res.Header.Get("request-id"), res.Header.Get("client-request-id")
	}
	w.mu.Lock()
	w.exchange = append(w.exchange, x)
	w.mu.Unlock()
	return res, err
}

func (w *wire) all() []exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]exchange(nil), w.exchange...)
}

// bearer is a kiota authentication provider with a fixed token: kiota's
// Azure identity provider only sends tokens to Microsoft's hosts over https.
type bearer string

func (b bearer) AuthenticateRequest(_ context.Context, r *abs.RequestInformation, _ map[string]any) error {
	r.Headers.Add("Authorization", "Bearer "+string(b))
	return nil
}

// graphClient is the SDK pointed at the local stack as one demo user.
type graphClient struct {
	adapter *core.GraphRequestAdapterBase
	rm      *rolemanagement.RoleManagementRequestBuilder
	ig      *identitygovernance.IdentityGovernanceRequestBuilder
	pol     *policies.PoliciesRequestBuilder
	audit   *auditlogs.AuditLogsRequestBuilder
}

// sdkWire is shared by every SDK client of the suite.
var sdkWire = &wire{}

// sdkAs builds what msgraph.NewGraphRequestAdapter builds: the SDK's
// default client options and default middleware (compression, retry,
// redirect, parameter decoding, user agent, telemetry), JSON
// serialization, and the base URL set to the stack. Only the transport
// under the middleware records the wire. The request builders are made
// directly instead of through msgraph.GraphServiceClient, whose package
// would compile every Graph workload into this binary.
func sdkAs(t testing.TB, alias string, mfa bool) *graphClient {
	t.Helper()
	tok, err := st.Token(user(alias), mfa)
	if err != nil {
		t.Fatal(err)
	}
	opts := core.GraphClientOptions{GraphServiceLibraryVersion: "1.89.0"}
	httpClient := core.GetDefaultClient(&opts)
	httpClient.Transport = khttp.NewCustomTransportWithParentTransport(sdkWire, core.GetDefaultMiddlewaresWithOptions(&opts)...)
	parse := absser.NewParseNodeFactoryRegistry()
	parse.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonParseNodeFactory()
	ser := absser.NewSerializationWriterFactoryRegistry()
	ser.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonSerializationWriterFactory()
	adapter, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(bearer(tok), opts, parse, ser, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(st.HostURL + "/api")
	p := map[string]string{}
	return &graphClient{adapter: adapter,
		rm:    rolemanagement.NewRoleManagementRequestBuilderInternal(p, adapter),
		ig:    identitygovernance.NewIdentityGovernanceRequestBuilderInternal(p, adapter),
		pol:   policies.NewPoliciesRequestBuilderInternal(p, adapter),
		audit: auditlogs.NewAuditLogsRequestBuilderInternal(p, adapter)}
}

func ptr[T any](v T) *T { return &v }

func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func isoDuration(t *testing.T, s string) *absser.ISODuration {
	t.Helper()
	d, err := absser.ParseISODuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sameDuration compares durations by value: the SDK writes P30D as P4W2D.
func sameDuration(t *testing.T, got *absser.ISODuration, want string) bool {
	t.Helper()
	return got != nil && got.String() == isoDuration(t, want).String()
}

func schedule(t *testing.T, typ models.ExpirationPatternType, duration string) models.RequestScheduleable {
	ex := models.NewExpirationPattern()
	ex.SetTypeEscaped(&typ)
	if duration != "" {
		ex.SetDuration(isoDuration(t, duration))
	}
	s := models.NewRequestSchedule()
	s.SetExpiration(ex)
	return s
}

func sdkFatal(t *testing.T, what string, err error) {
	t.Helper()
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
		t.Fatalf("%s: %d %s: %s", what, oe.ResponseStatusCode, val(oe.GetErrorEscaped().GetCode()), val(oe.GetErrorEscaped().GetMessage()))
	}
	t.Fatalf("%s: %v", what, err)
}

// TestSDKDirectoryRoles: every action of directory-role schedule requests,
// cancel, filterByCurrentUser (principal and approver), schedules and
// instances with $filter, $select, $expand, $count and paging, through
// the SDK, asserting the values that come back.
func TestSDKDirectoryRoles(t *testing.T) {
	ctx := context.Background()
	gina, stan, alice := sdkAs(t, "gina", true), sdkAs(t, "stan", true), sdkAs(t, "alice", true)
	stanID := user("stan")

	// adminAssign an eligibility: the SDK's first POST, gzip-compressed.
	elig := models.NewUnifiedRoleEligibilityScheduleRequest()
	elig.SetAction(ptr(models.ADMINASSIGN_UNIFIEDROLESCHEDULEREQUESTACTIONS))
	elig.SetPrincipalId(&stanID)
	elig.SetRoleDefinitionId(ptr(roleReportsReader))
	elig.SetDirectoryScopeId(ptr("/"))
	elig.SetJustification(ptr("quarterly reporting ünïcode"))
	elig.SetScheduleInfo(schedule(t, models.AFTERDURATION_EXPIRATIONPATTERNTYPE, "P30D"))
	got, err := dir(gina).RoleEligibilityScheduleRequests().Post(ctx, elig, nil)
	if err != nil {
		sdkFatal(t, "adminAssign eligibility", err)
	}
	if val(got.GetStatus()) != "Provisioned" || val(got.GetAction()) != models.ADMINASSIGN_UNIFIEDROLESCHEDULEREQUESTACTIONS ||
		val(got.GetPrincipalId()) != stanID || val(got.GetRoleDefinitionId()) != roleReportsReader || val(got.GetDirectoryScopeId()) != "/" ||
		val(got.GetJustification()) != "quarterly reporting ünïcode" || got.GetId() == nil || got.GetCreatedDateTime() == nil ||
		got.GetCreatedBy() == nil || val(got.GetCreatedBy().GetUser().GetId()) != user("gina") {
		t.Fatalf("eligibility request: %+v", describe(got))
	}
	ex := got.GetScheduleInfo().GetExpiration()
	if val(ex.GetTypeEscaped()) != models.AFTERDURATION_EXPIRATIONPATTERNTYPE || !sameDuration(t, ex.GetDuration(), "P30D") ||
		got.GetScheduleInfo().GetStartDateTime() == nil {
		t.Fatalf("scheduleInfo: %+v", describe(got.GetScheduleInfo()))
	}
	reqByID, err := dir(gina).RoleEligibilityScheduleRequests().ByUnifiedRoleEligibilityScheduleRequestId(*got.GetId()).Get(ctx, nil)
	if err != nil || val(reqByID.GetJustification()) != "quarterly reporting ünïcode" {
		t.Fatalf("GET request by id: %v %+v", err, describe(reqByID))
	}

	// The eligibility is listed as a schedule and an instance, with $filter.
	filter := "principalId eq '" + stanID + "' and roleDefinitionId eq '" + roleReportsReader + "'"
	scheds, err := dir(gina).RoleEligibilitySchedules().Get(ctx, &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetQueryParameters{Filter: &filter, Count: ptr(true),
			Expand: []string{"principal", "roleDefinition"}}})
	if err != nil {
		sdkFatal(t, "eligibility schedules", err)
	}
	if len(scheds.GetValue()) != 1 || val(scheds.GetOdataCount()) != 1 {
		t.Fatalf("schedules: %d, count %v", len(scheds.GetValue()), scheds.GetOdataCount())
	}
	s := scheds.GetValue()[0]
	if val(s.GetPrincipalId()) != stanID || val(s.GetMemberType()) != "Direct" || val(s.GetStatus()) != "Provisioned" ||
		s.GetScheduleInfo().GetExpiration().GetEndDateTime() == nil || s.GetRoleDefinition() == nil ||
		val(s.GetRoleDefinition().GetDisplayName()) != "Reports Reader" || val(s.GetRoleDefinition().GetIsBuiltIn()) != true {
		t.Fatalf("schedule: %+v", describe(s))
	}
	if u, ok := s.GetPrincipal().(models.Userable); !ok || val(u.GetDisplayName()) != "Stan Developer" || val(u.GetUserPrincipalName()) != "stan@jitpimdemo.onmicrosoft.com" {
		t.Fatalf("$expand=principal did not give a user: %+v", describe(s.GetPrincipal()))
	}
	// $select leaves the rest out.
	sel, err := dir(gina).RoleEligibilityScheduleInstances().Get(ctx, &rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleEligibilityScheduleInstancesRequestBuilderGetQueryParameters{Filter: &filter, Select: []string{"principalId", "startDateTime"}}})
	if err != nil || len(sel.GetValue()) != 1 {
		t.Fatalf("instances with $select: %v", err)
	}
	if in := sel.GetValue()[0]; val(in.GetPrincipalId()) != stanID || in.GetStartDateTime() == nil || in.GetRoleDefinitionId() != nil || in.GetMemberType() != nil {
		t.Fatalf("$select: %+v", describe(in))
	}

	// selfActivate, then the activation is Stan's instance.
	act := models.NewUnifiedRoleAssignmentScheduleRequest()
	act.SetAction(ptr(models.SELFACTIVATE_UNIFIEDROLESCHEDULEREQUESTACTIONS))
	act.SetPrincipalId(&stanID)
	act.SetRoleDefinitionId(ptr(roleReportsReader))
	act.SetDirectoryScopeId(ptr("/"))
	act.SetJustification(ptr("month-end report RITM0010001"))
	ticket := models.NewTicketInfo()
	ticket.SetTicketNumber(ptr("RITM0010001"))
	ticket.SetTicketSystem(ptr("ServiceNow"))
	act.SetTicketInfo(ticket)
	act.SetScheduleInfo(schedule(t, models.AFTERDURATION_EXPIRATIONPATTERNTYPE, "PT2H"))
	activated, err := dir(stan).RoleAssignmentScheduleRequests().Post(ctx, act, nil)
	if err != nil {
		sdkFatal(t, "selfActivate", err)
	}
	if val(activated.GetStatus()) != "Provisioned" || val(activated.GetTicketInfo().GetTicketNumber()) != "RITM0010001" ||
		val(activated.GetTicketInfo().GetTicketSystem()) != "ServiceNow" || !sameDuration(t, activated.GetScheduleInfo().GetExpiration().GetDuration(), "PT2H") {
		t.Fatalf("activation: %+v", describe(activated))
	}
	if !st.Graph.HasRoleAssignment(stanID, roleReportsReader, "/") {
		t.Fatal("activated through the SDK but not in the directory")
	}
	mine, err := dir(stan).RoleAssignmentScheduleInstances().FilterByCurrentUserWithOn(ptr("principal")).GetAsFilterByCurrentUserWithOnGetResponse(ctx, nil)
	if err != nil {
		sdkFatal(t, "filterByCurrentUser(on='principal')", err)
	}
	var instance models.UnifiedRoleAssignmentScheduleInstanceable
	for _, in := range mine.GetValue() {
		if val(in.GetRoleDefinitionId()) == roleReportsReader {
			instance = in
		}
	}
	if instance == nil || val(instance.GetAssignmentType()) != "Activated" || val(instance.GetPrincipalId()) != stanID ||
		instance.GetStartDateTime() == nil || instance.GetEndDateTime() == nil ||
		instance.GetEndDateTime().Sub(*instance.GetStartDateTime()).Round(time.Minute) != 2*time.Hour || val(instance.GetRoleAssignmentScheduleId()) == "" || val(instance.GetMemberType()) != "Direct" {
		t.Fatalf("activated instance: %+v", describe(instance))
	}

	// selfDeactivate ends it.
	deact := models.NewUnifiedRoleAssignmentScheduleRequest()
	deact.SetAction(ptr(models.SELFDEACTIVATE_UNIFIEDROLESCHEDULEREQUESTACTIONS))
	deact.SetPrincipalId(&stanID)
	deact.SetRoleDefinitionId(ptr(roleReportsReader))
	deact.SetDirectoryScopeId(ptr("/"))
	if out, err := dir(stan).RoleAssignmentScheduleRequests().Post(ctx, deact, nil); err != nil || val(out.GetAction()) != models.SELFDEACTIVATE_UNIFIEDROLESCHEDULEREQUESTACTIONS {
		t.Fatalf("selfDeactivate: %v %+v", err, describe(out))
	}
	if st.Graph.HasRoleAssignment(stanID, roleReportsReader, "/") {
		t.Fatal("deactivated through the SDK but still in the directory")
	}

	// adminAssign and adminRemove an active assignment; adminUpdate,
	// adminExtend and adminRenew of the eligibility.
	active := models.NewUnifiedRoleAssignmentScheduleRequest()
	active.SetAction(ptr(models.ADMINASSIGN_UNIFIEDROLESCHEDULEREQUESTACTIONS))
	active.SetPrincipalId(&stanID)
	active.SetRoleDefinitionId(ptr(roleSecurityAdmin))
	active.SetDirectoryScopeId(ptr("/"))
	active.SetJustification(ptr("incident bridge"))
	active.SetScheduleInfo(schedule(t, models.AFTERDURATION_EXPIRATIONPATTERNTYPE, "PT4H"))
	if out, err := dir(gina).RoleAssignmentScheduleRequests().Post(ctx, active, nil); err != nil || val(out.GetStatus()) != "Provisioned" {
		t.Fatalf("adminAssign active: %v %+v", err, describe(out))
	}
	if !st.Graph.HasRoleAssignment(stanID, roleSecurityAdmin, "/") {
		t.Fatal("admin assignment not in the directory")
	}
	active.SetAction(ptr(models.ADMINREMOVE_UNIFIEDROLESCHEDULEREQUESTACTIONS))
	active.SetScheduleInfo(nil)
	if out, err := dir(gina).RoleAssignmentScheduleRequests().Post(ctx, active, nil); err != nil || val(out.GetAction()) != models.ADMINREMOVE_UNIFIEDROLESCHEDULEREQUESTACTIONS {
		t.Fatalf("adminRemove active: %v %+v", err, describe(out))
	}
	if st.Graph.HasRoleAssignment(stanID, roleSecurityAdmin, "/") {
		t.Fatal("removed admin assignment still in the directory")
	}
	for _, a := range []struct {
		action   models.UnifiedRoleScheduleRequestActions
		duration string
	}{{models.ADMINUPDATE_UNIFIEDROLESCHEDULEREQUESTACTIONS, "P60D"}, {models.ADMINEXTEND_UNIFIEDROLESCHEDULEREQUESTACTIONS, "P90D"}} {
		r := models.NewUnifiedRoleEligibilityScheduleRequest()
		r.SetAction(ptr(a.action))
		r.SetPrincipalId(&stanID)
		r.SetRoleDefinitionId(ptr(roleReportsReader))
		r.SetDirectoryScopeId(ptr("/"))
		r.SetJustification(ptr("reporting stays"))
		r.SetScheduleInfo(schedule(t, models.AFTERDURATION_EXPIRATIONPATTERNTYPE, a.duration))
		out, err := dir(gina).RoleEligibilityScheduleRequests().Post(ctx, r, nil)
		if err != nil {
			sdkFatal(t, a.action.String(), err)
		}
		if val(out.GetAction()) != a.action || val(out.GetStatus()) == "Failed" || !sameDuration(t, out.GetScheduleInfo().GetExpiration().GetDuration(), a.duration) {
			t.Fatalf("%s: %+v", a.action, describe(out))
		}
	}

	// selfExtend of an eligibility that runs 90 days more is refused, as
	// Entra offers extension only in the last 14 days (TestExtendDecidedByAdmin
	// has one in them decided by an admin).
	ext := models.NewUnifiedRoleEligibilityScheduleRequest()
	ext.SetAction(ptr(models.SELFEXTEND_UNIFIEDROLESCHEDULEREQUESTACTIONS))
	ext.SetPrincipalId(&stanID)
	ext.SetRoleDefinitionId(ptr(roleReportsReader))
	ext.SetDirectoryScopeId(ptr("/"))
	ext.SetJustification(ptr("still reporting"))
	ext.SetScheduleInfo(schedule(t, models.AFTERDURATION_EXPIRATIONPATTERNTYPE, "P180D"))
	_, err = dir(stan).RoleEligibilityScheduleRequests().Post(ctx, ext, nil)
	var tooEarly *odataerrors.ODataError
	if !errors.As(err, &tooEarly) || tooEarly.ResponseStatusCode != 400 || !strings.Contains(val(tooEarly.GetErrorEscaped().GetMessage()), "14 days") {
		t.Fatalf("selfExtend 90 days before the end: %v", err)
	}

	// Security Administrator with approval (set through the SDK), then a
	// pending activation cancelled, and one approved through the beta steps.
	setApproval(t, gina, "DirectoryRole_"+roleSecurityAdmin, user("alice"))
	elig.SetRoleDefinitionId(ptr(roleSecurityAdmin))
	if _, err := dir(gina).RoleEligibilityScheduleRequests().Post(ctx, elig, nil); err != nil {
		sdkFatal(t, "eligibility for Security Administrator", err)
	}
	act.SetRoleDefinitionId(ptr(roleSecurityAdmin))
	act.SetScheduleInfo(schedule(t, models.AFTERDURATION_EXPIRATIONPATTERNTYPE, "PT1H"))
	pending, err := dir(stan).RoleAssignmentScheduleRequests().Post(ctx, act, nil)
	if err != nil || val(pending.GetStatus()) != "PendingApproval" || val(pending.GetApprovalId()) == "" {
		t.Fatalf("activation needing approval: %v %+v", err, describe(pending))
	}
	waiting, err := dir(alice).RoleAssignmentScheduleRequests().FilterByCurrentUserWithOn(ptr("approver")).GetAsFilterByCurrentUserWithOnGetResponse(ctx, nil)
	if err != nil {
		sdkFatal(t, "filterByCurrentUser(on='approver')", err)
	}
	found := false
	for _, r := range waiting.GetValue() {
		found = found || val(r.GetId()) == val(pending.GetId())
	}
	if !found {
		t.Fatal("the approver does not see the pending request")
	}
	if err := dir(stan).RoleAssignmentScheduleRequests().ByUnifiedRoleAssignmentScheduleRequestId(*pending.GetId()).Cancel().Post(ctx, nil); err != nil {
		sdkFatal(t, "cancel", err)
	}
	canceled, err := dir(stan).RoleAssignmentScheduleRequests().ByUnifiedRoleAssignmentScheduleRequestId(*pending.GetId()).Get(ctx, nil)
	if err != nil || val(canceled.GetStatus()) != "Canceled" {
		t.Fatalf("after cancel: %v %+v", err, describe(canceled))
	}

	// Role approvals exist in Graph beta only (the v1.0 SDK has no request
	// builder for them): their shape is checked against beta's approval
	// and approvalStep as documented.
	pending, err = dir(stan).RoleAssignmentScheduleRequests().Post(ctx, act, nil)
	if err != nil || val(pending.GetStatus()) != "PendingApproval" {
		t.Fatalf("second activation: %v", err)
	}
	ac := as(t, "alice", true)
	appr := must(t, ac, 200, "GET", "roleManagement/directory/roleAssignmentApprovals/"+val(pending.GetApprovalId()), nil)
	steps, _ := appr["steps"].([]any)
	if appr["id"] != val(pending.GetApprovalId()) || len(steps) != 1 {
		t.Fatalf("beta approval: %v", appr)
	}
	step := steps[0].(map[string]any)
	for _, k := range []string{"id", "assignedToMe", "displayName", "justification", "reviewResult", "reviewedBy", "reviewedDateTime", "status"} {
		if _, ok := step[k]; !ok {
			t.Errorf("beta approvalStep has no %s: %v", k, step)
		}
	}
	if step["assignedToMe"] != true || step["status"] != "InProgress" || step["reviewResult"] != "NotReviewed" {
		t.Fatalf("beta approvalStep: %v", step)
	}
	must(t, ac, 204, "PATCH", "roleManagement/directory/roleAssignmentApprovals/"+val(pending.GetApprovalId())+"/steps/"+step["id"].(string),
		map[string]any{"reviewResult": "Approve", "justification": "bridge call confirmed"})
	if !st.Graph.HasRoleAssignment(stanID, roleSecurityAdmin, "/") {
		t.Fatal("approved activation not in the directory")
	}
	deact.SetRoleDefinitionId(ptr(roleSecurityAdmin))
	if _, err := dir(stan).RoleAssignmentScheduleRequests().Post(ctx, deact, nil); err != nil {
		sdkFatal(t, "selfDeactivate Security Administrator", err)
	}

	// $top pages and the SDK's page iterator follows @odata.nextLink.
	first, err := dir(gina).RoleEligibilityScheduleRequests().Get(ctx, &rolemanagement.DirectoryRoleEligibilityScheduleRequestsRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleEligibilityScheduleRequestsRequestBuilderGetQueryParameters{Top: ptr(int32(2)), Count: ptr(true)}})
	if err != nil {
		sdkFatal(t, "$top", err)
	}
	// A page may hold fewer than $top (requests of PIM for Groups share the
	// store's pages and are left out here), never more, and links the next.
	if n := len(first.GetValue()); n == 0 || n > 2 || first.GetOdataNextLink() == nil {
		t.Fatalf("first page: %d, next %v", len(first.GetValue()), first.GetOdataNextLink())
	}
	it, err := core.NewPageIterator[models.UnifiedRoleEligibilityScheduleRequestable](first, gina.adapter, models.CreateUnifiedRoleEligibilityScheduleRequestCollectionResponseFromDiscriminatorValue)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	if err := it.Iterate(ctx, func(r models.UnifiedRoleEligibilityScheduleRequestable) bool {
		seen[val(r.GetId())] = true
		return true
	}); err != nil {
		sdkFatal(t, "page iterator", err)
	}
	if int64(len(seen)) != val(first.GetOdataCount()) || len(seen) < 5 {
		t.Fatalf("the iterator saw %d distinct requests, $count says %d", len(seen), val(first.GetOdataCount()))
	}
}

// setApproval requires approval by one user on a policy, through the SDK,
// and puts the rule back as it was when the test ends: later tests use
// these targets with their demo settings.
func setApproval(t *testing.T, c *graphClient, policyID, approver string) {
	t.Helper()
	rulePath := "policies/roleManagementPolicies/" + policyID + "/rules/Approval_EndUser_Assignment"
	admin := as(t, "gina", true)
	before := must(t, admin, 200, "GET", rulePath, nil)
	t.Cleanup(func() { must(t, admin, 200, "PATCH", rulePath, before) })
	one := models.NewSingleUser()
	one.SetUserId(&approver)
	stage := models.NewUnifiedApprovalStage()
	stage.SetApprovalStageTimeOutInDays(ptr(int32(1)))
	stage.SetIsApproverJustificationRequired(ptr(true))
	stage.SetPrimaryApprovers([]models.SubjectSetable{one})
	set := models.NewApprovalSettings()
	set.SetIsApprovalRequired(ptr(true))
	set.SetApprovalMode(ptr("SingleStage"))
	set.SetApprovalStages([]models.UnifiedApprovalStageable{stage})
	rule := models.NewUnifiedRoleManagementPolicyApprovalRule()
	rule.SetId(ptr("Approval_EndUser_Assignment"))
	rule.SetSetting(set)
	_, err := c.pol.RoleManagementPolicies().ByUnifiedRoleManagementPolicyId(policyID).Rules().ByUnifiedRoleManagementPolicyRuleId("Approval_EndUser_Assignment").
		Patch(context.Background(), rule, nil)
	if err != nil {
		sdkFatal(t, "PATCH approval rule of "+policyID, err)
	}
}

// TestSDKGroups: PIM for Groups through the v1.0 SDK, approvals included:
// approval with $expand=stages, …/stages, …/stages/{id}, PATCH …/stages/{id}.
func TestSDKGroups(t *testing.T) {
	ctx := context.Background()
	gina, stan, alice := sdkAs(t, "gina", true), sdkAs(t, "stan", true), sdkAs(t, "alice", true)
	pag := func(c *graphClient) *identitygovernance.PrivilegedAccessGroupRequestBuilder {
		return c.ig.PrivilegedAccess().Group()
	}
	stanID := user("stan")
	setApproval(t, gina, "Group_"+groupServiceDeskL2+"_member", user("alice"))

	elig := models.NewPrivilegedAccessGroupEligibilityScheduleRequest()
	elig.SetAction(ptr(models.ADMINASSIGN_SCHEDULEREQUESTACTIONS))
	elig.SetPrincipalId(&stanID)
	elig.SetGroupId(ptr(groupServiceDeskL2))
	elig.SetAccessId(ptr(models.MEMBER_PRIVILEGEDACCESSGROUPRELATIONSHIPS))
	elig.SetJustification(ptr("L2 rota"))
	elig.SetScheduleInfo(schedule(t, models.NOEXPIRATION_EXPIRATIONPATTERNTYPE, ""))
	got, err := pag(gina).EligibilityScheduleRequests().Post(ctx, elig, nil)
	if err != nil {
		sdkFatal(t, "group adminAssign", err)
	}
	if val(got.GetStatus()) != "Provisioned" || val(got.GetGroupId()) != groupServiceDeskL2 || val(got.GetAccessId()) != models.MEMBER_PRIVILEGEDACCESSGROUPRELATIONSHIPS ||
		val(got.GetScheduleInfo().GetExpiration().GetTypeEscaped()) != models.NOEXPIRATION_EXPIRATIONPATTERNTYPE {
		t.Fatalf("group eligibility request: %+v", describe(got))
	}
	filter := "principalId eq '" + stanID + "' and groupId eq '" + groupServiceDeskL2 + "'"
	es, err := pag(gina).EligibilitySchedules().Get(ctx, &identitygovernance.PrivilegedAccessGroupEligibilitySchedulesRequestBuilderGetRequestConfiguration{
		QueryParameters: &identitygovernance.PrivilegedAccessGroupEligibilitySchedulesRequestBuilderGetQueryParameters{Filter: &filter, Expand: []string{"group", "principal"}}})
	if err != nil || len(es.GetValue()) != 1 {
		t.Fatalf("group eligibility schedules: %v", err)
	}
	if s := es.GetValue()[0]; val(s.GetAccessId()) != models.MEMBER_PRIVILEGEDACCESSGROUPRELATIONSHIPS || s.GetGroup() == nil || val(s.GetGroup().GetId()) != groupServiceDeskL2 ||
		s.GetMemberType() == nil || *s.GetMemberType() != models.DIRECT_PRIVILEGEDACCESSGROUPMEMBERTYPE || s.GetAccessId() == nil {
		t.Fatalf("group eligibility schedule: %+v", describe(s))
	}
	if ei, err := pag(stan).EligibilityScheduleInstances().Get(ctx, &identitygovernance.PrivilegedAccessGroupEligibilityScheduleInstancesRequestBuilderGetRequestConfiguration{
		QueryParameters: &identitygovernance.PrivilegedAccessGroupEligibilityScheduleInstancesRequestBuilderGetQueryParameters{Filter: &filter}}); err != nil || len(ei.GetValue()) != 1 {
		t.Fatalf("group eligibility instances: %v", err)
	}

	act := models.NewPrivilegedAccessGroupAssignmentScheduleRequest()
	act.SetAction(ptr(models.SELFACTIVATE_SCHEDULEREQUESTACTIONS))
	act.SetPrincipalId(&stanID)
	act.SetGroupId(ptr(groupServiceDeskL2))
	act.SetAccessId(ptr(models.MEMBER_PRIVILEGEDACCESSGROUPRELATIONSHIPS))
	act.SetJustification(ptr("password reset queue"))
	act.SetScheduleInfo(schedule(t, models.AFTERDURATION_EXPIRATIONPATTERNTYPE, "PT1H"))
	pending, err := pag(stan).AssignmentScheduleRequests().Post(ctx, act, nil)
	if err != nil {
		sdkFatal(t, "group selfActivate", err)
	}
	if val(pending.GetStatus()) != "PendingApproval" || val(pending.GetApprovalId()) == "" || st.Graph.InGroup(groupServiceDeskL2, "member", stanID) {
		t.Fatalf("group activation before approval: %+v", describe(pending))
	}
	approvals := pag(alice).AssignmentApprovals().ByApprovalId(val(pending.GetApprovalId()))
	appr, err := approvals.Get(ctx, &identitygovernance.PrivilegedAccessGroupAssignmentApprovalsApprovalItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &identitygovernance.PrivilegedAccessGroupAssignmentApprovalsApprovalItemRequestBuilderGetQueryParameters{Expand: []string{"stages"}}})
	if err != nil {
		sdkFatal(t, "approval with $expand=stages", err)
	}
	if val(appr.GetId()) != val(pending.GetApprovalId()) || len(appr.GetStages()) != 1 {
		t.Fatalf("approval: id %v, %d stages", appr.GetId(), len(appr.GetStages()))
	}
	stage := appr.GetStages()[0]
	if !val(stage.GetAssignedToMe()) || val(stage.GetStatus()) != "InProgress" || val(stage.GetReviewResult()) != "NotReviewed" || val(stage.GetDisplayName()) == "" {
		t.Fatalf("stage: %+v", describe(stage))
	}
	list, err := approvals.Stages().Get(ctx, nil)
	if err != nil || len(list.GetValue()) != 1 || val(list.GetValue()[0].GetId()) != val(stage.GetId()) {
		t.Fatalf("GET …/stages: %v", err)
	}
	decision := models.NewApprovalStage()
	decision.SetReviewResult(ptr("Approve"))
	decision.SetJustification(ptr("queue is on fire"))
	if _, err := approvals.Stages().ByApprovalStageId(val(stage.GetId())).Patch(ctx, decision, nil); err != nil {
		sdkFatal(t, "PATCH …/stages/{id}", err)
	}
	done, err := approvals.Stages().ByApprovalStageId(val(stage.GetId())).Get(ctx, nil)
	if err != nil {
		sdkFatal(t, "GET …/stages/{id}", err)
	}
	if val(done.GetReviewResult()) != "Approve" || val(done.GetStatus()) != "Completed" || val(done.GetJustification()) != "queue is on fire" ||
		done.GetReviewedBy() == nil || val(done.GetReviewedBy().GetId()) != user("alice") || done.GetReviewedDateTime() == nil || val(done.GetAssignedToMe()) {
		t.Fatalf("decided stage: %+v", describe(done))
	}
	if !st.Graph.InGroup(groupServiceDeskL2, "member", stanID) {
		t.Fatal("approved group activation not in the directory")
	}
	granted, err := pag(stan).AssignmentScheduleRequests().ByPrivilegedAccessGroupAssignmentScheduleRequestId(val(pending.GetId())).Get(ctx, nil)
	if err != nil || val(granted.GetStatus()) != "Provisioned" {
		t.Fatalf("request after approval: %v %+v", err, describe(granted))
	}
	inst, err := pag(stan).AssignmentScheduleInstances().FilterByCurrentUserWithOn(ptr("principal")).GetAsFilterByCurrentUserWithOnGetResponse(ctx, nil)
	if err != nil {
		sdkFatal(t, "group instances", err)
	}
	ok := false
	for _, in := range inst.GetValue() {
		if val(in.GetGroupId()) == groupServiceDeskL2 && in.GetAssignmentType() != nil && *in.GetAssignmentType() == models.ACTIVATED_PRIVILEGEDACCESSGROUPASSIGNMENTTYPE &&
			in.GetMemberType() != nil && *in.GetMemberType() == models.DIRECT_PRIVILEGEDACCESSGROUPMEMBERTYPE && in.GetEndDateTime() != nil {
			ok = true
		}
	}
	if !ok {
		t.Fatal("the approved activation is not among Stan's group instances")
	}
	if as, err := pag(gina).AssignmentSchedules().Get(ctx, &identitygovernance.PrivilegedAccessGroupAssignmentSchedulesRequestBuilderGetRequestConfiguration{
		QueryParameters: &identitygovernance.PrivilegedAccessGroupAssignmentSchedulesRequestBuilderGetQueryParameters{Filter: &filter}}); err != nil || len(as.GetValue()) != 1 {
		t.Fatalf("group assignment schedules: %v", err)
	}
	deact := models.NewPrivilegedAccessGroupAssignmentScheduleRequest()
	deact.SetAction(ptr(models.SELFDEACTIVATE_SCHEDULEREQUESTACTIONS))
	deact.SetPrincipalId(&stanID)
	deact.SetGroupId(ptr(groupServiceDeskL2))
	deact.SetAccessId(ptr(models.MEMBER_PRIVILEGEDACCESSGROUPRELATIONSHIPS))
	if _, err := pag(stan).AssignmentScheduleRequests().Post(ctx, deact, nil); err != nil {
		sdkFatal(t, "group selfDeactivate", err)
	}
	if st.Graph.InGroup(groupServiceDeskL2, "member", stanID) {
		t.Fatal("deactivated group membership still in the directory")
	}
}

// TestSDKPolicies: every rule of a policy deserializes into its derived
// SDK type through @odata.type; policy assignments answer $filter.
func TestSDKPolicies(t *testing.T) {
	ctx := context.Background()
	gina := sdkAs(t, "gina", true)
	p, err := gina.pol.RoleManagementPolicies().ByUnifiedRoleManagementPolicyId("DirectoryRole_"+stack.RoleGlobalAdmin).Get(ctx,
		&policies.RoleManagementPoliciesUnifiedRoleManagementPolicyItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &policies.RoleManagementPoliciesUnifiedRoleManagementPolicyItemRequestBuilderGetQueryParameters{Expand: []string{"rules"}}})
	if err != nil {
		sdkFatal(t, "policy with $expand=rules", err)
	}
	if val(p.GetScopeId()) != "/" || val(p.GetScopeType()) != "DirectoryRole" || len(p.GetRules()) < 8 {
		t.Fatalf("policy: %+v, %d rules", describe(p), len(p.GetRules()))
	}
	kinds := map[string]int{}
	for _, r := range p.GetRules() {
		id := val(r.GetId())
		switch rule := r.(type) {
		case models.UnifiedRoleManagementPolicyExpirationRuleable:
			kinds["expiration"]++
			if id == "Expiration_EndUser_Assignment" && (!sameDuration(t, rule.GetMaximumDuration(), "PT1H")) {
				t.Errorf("%s: maximumDuration %v, want PT1H from the demo policy", id, rule.GetMaximumDuration())
			}
		case models.UnifiedRoleManagementPolicyEnablementRuleable:
			kinds["enablement"]++
			if id == "Enablement_EndUser_Assignment" && !strings.Contains(strings.Join(rule.GetEnabledRules(), ","), "MultiFactorAuthentication") {
				t.Errorf("%s: %v", id, rule.GetEnabledRules())
			}
		case models.UnifiedRoleManagementPolicyApprovalRuleable:
			kinds["approval"]++
			set := rule.GetSetting()
			if set == nil || !val(set.GetIsApprovalRequired()) || len(set.GetApprovalStages()) != 1 || len(set.GetApprovalStages()[0].GetPrimaryApprovers()) != 1 {
				t.Errorf("%s: %+v", id, describe(set))
			} else if u, ok := set.GetApprovalStages()[0].GetPrimaryApprovers()[0].(models.SingleUserable); !ok || val(u.GetUserId()) != user("alice") {
				t.Errorf("%s: approver is not Alice as a singleUser: %+v", id, describe(set.GetApprovalStages()[0].GetPrimaryApprovers()[0]))
			}
		case models.UnifiedRoleManagementPolicyAuthenticationContextRuleable:
			kinds["authenticationContext"]++
		case models.UnifiedRoleManagementPolicyNotificationRuleable:
			kinds["notification"]++
			if rule.GetNotificationLevel() == nil || rule.GetRecipientType() == nil {
				t.Errorf("%s: %+v", id, describe(rule))
			}
		default:
			t.Errorf("rule %s deserialized as the base type: its @odata.type was not honoured", id)
		}
		if r.GetTarget() == nil || r.GetTarget().GetCaller() == nil {
			t.Errorf("rule %s has no target", id)
		}
	}
	if kinds["expiration"] != 3 || kinds["enablement"] != 3 || kinds["approval"] != 1 || kinds["authenticationContext"] != 1 || kinds["notification"] != 9 {
		t.Errorf("rule types: %v", kinds)
	}

	filter := "scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '" + stack.RoleGlobalAdmin + "'"
	pa, err := gina.pol.RoleManagementPolicyAssignments().Get(ctx, &policies.RoleManagementPolicyAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &policies.RoleManagementPolicyAssignmentsRequestBuilderGetQueryParameters{Filter: &filter}})
	if err != nil {
		sdkFatal(t, "policy assignments", err)
	}
	if len(pa.GetValue()) != 1 || val(pa.GetValue()[0].GetPolicyId()) != val(p.GetId()) || val(pa.GetValue()[0].GetRoleDefinitionId()) != stack.RoleGlobalAdmin {
		t.Fatalf("policy assignments: %d", len(pa.GetValue()))
	}
}

// TestSDKAuditAndErrors: directoryAudits through the page iterator; a
// refusal comes back as an ODataError with Graph's innerError; every answer
// carried request-id and client-request-id; every write was gzip and none
// was refused for it.
func TestSDKAuditAndErrors(t *testing.T) {
	ctx := context.Background()
	gina := sdkAs(t, "gina", true)
	page, err := gina.audit.DirectoryAudits().Get(ctx, &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{Top: ptr(int32(5))}})
	if err != nil {
		sdkFatal(t, "directoryAudits", err)
	}
	if len(page.GetValue()) != 5 || page.GetOdataNextLink() == nil {
		t.Fatalf("audit page: %d", len(page.GetValue()))
	}
	a := page.GetValue()[0]
	if a.GetActivityDateTime() == nil || val(a.GetActivityDisplayName()) == "" || a.GetInitiatedBy() == nil || len(a.GetAdditionalDetails()) == 0 {
		t.Fatalf("audit record: %+v", describe(a))
	}
	it, err := core.NewPageIterator[models.DirectoryAuditable](page, gina.adapter, models.CreateDirectoryAuditCollectionResponseFromDiscriminatorValue)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := it.Iterate(ctx, func(models.DirectoryAuditable) bool { n++; return n < 40 }); err != nil || n != 40 {
		t.Fatalf("audit iterator: %v after %d", err, n)
	}

	// A refusal: Stan is no admin.
	_, err = sdkAs(t, "stan", true).audit.DirectoryAudits().Get(ctx, nil)
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || oe.ResponseStatusCode != 403 {
		t.Fatalf("audit as a non-admin: %v", err)
	}
	inner := oe.GetErrorEscaped().GetInnerError()
	if val(oe.GetErrorEscaped().GetCode()) != "Forbidden" || inner == nil || val(inner.GetRequestId()) == "" || inner.GetDate() == nil {
		t.Fatalf("ODataError: %+v", describe(oe.GetErrorEscaped()))
	}
	// An unsupported query option is named, not ignored.
	_, err = gina.audit.DirectoryAudits().Get(ctx, &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{Orderby: []string{"activityDateTime"}}})
	if !errors.As(err, &oe) || oe.ResponseStatusCode != 400 || !strings.Contains(val(oe.GetErrorEscaped().GetMessage()), "$orderby") {
		t.Fatalf("$orderby: %v", err)
	}

	writes := 0
	for _, x := range sdkWire.all() {
		if x.requestID == "" || x.clientReqID == "" {
			t.Errorf("%s %s (%d): request-id %q client-request-id %q", x.method, x.path, x.status, x.requestID, x.clientReqID)
		}
		if x.status == http.StatusUnsupportedMediaType {
			t.Errorf("%s %s was refused for its encoding (415): the SDK then resends uncompressed", x.method, x.path)
		}
		if x.method == "POST" || x.method == "PATCH" {
			if x.encoding != "gzip" && !strings.HasSuffix(x.path, "/cancel") {
				t.Errorf("%s %s went without gzip (%q): the suite must drive the default, compressing client", x.method, x.path, x.encoding)
			}
			writes++
		}
	}
	if writes < 10 {
		t.Errorf("only %d writes went through the SDK; run the whole suite", writes)
	}
}

// describe renders an SDK model for failure messages.
func describe(m absser.Parsable) string {
	if m == nil {
		return "<nil>"
	}
	w := jsonser.NewJsonSerializationWriter()
	if err := w.WriteObjectValue("", m); err != nil {
		return err.Error()
	}
	b, _ := w.GetSerializedContent()
	return string(b)
}

// TestSDKRenew: the two renew actions, for an eligibility that has ended
// (renew is for what has expired, extend for what still runs).
func TestSDKRenew(t *testing.T) {
	defer advance(t, 0)
	ctx := context.Background()
	const roleSecurityReader = "5d6b6bb7-de71-4623-b4af-96380a352509"
	gina, stan := sdkAs(t, "gina", true), sdkAs(t, "stan", true)
	stanID := user("stan")
	req := func(action models.UnifiedRoleScheduleRequestActions, duration string) models.UnifiedRoleEligibilityScheduleRequestable {
		r := models.NewUnifiedRoleEligibilityScheduleRequest()
		r.SetAction(&action)
		r.SetPrincipalId(&stanID)
		r.SetRoleDefinitionId(ptr(roleSecurityReader))
		r.SetDirectoryScopeId(ptr("/"))
		r.SetJustification(ptr("security dashboards"))
		if duration != "" {
			r.SetScheduleInfo(schedule(t, models.AFTERDURATION_EXPIRATIONPATTERNTYPE, duration))
		}
		return r
	}
	eligibility := dir(gina).RoleEligibilityScheduleRequests()
	// A short eligibility, so that the clock moves past its end while the
	// admin's MFA sign-in (real time) is still fresh for the admin writes below.
	if out, err := eligibility.Post(ctx, req(models.ADMINASSIGN_UNIFIEDROLESCHEDULEREQUESTACTIONS, "PT5M"), nil); err != nil || val(out.GetStatus()) != "Provisioned" {
		t.Fatalf("adminAssign PT5M: %v %s", err, describe(out))
	}
	advance(t, 6*time.Minute)
	if out, err := st.RunTimer(ctx, "expirySweep"); err != nil {
		t.Fatalf("sweep: %v %s", err, out)
	}
	filter := "principalId eq '" + stanID + "' and roleDefinitionId eq '" + roleSecurityReader + "'"
	live := func() int {
		t.Helper()
		s, err := dir(gina).RoleEligibilitySchedules().Get(ctx, &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetRequestConfiguration{
			QueryParameters: &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetQueryParameters{Filter: &filter}})
		if err != nil {
			sdkFatal(t, "eligibility schedules", err)
		}
		return len(s.GetValue())
	}
	if n := live(); n != 0 {
		t.Fatalf("%d live eligibilities after the end", n)
	}
	if out, err := dir(stan).RoleEligibilityScheduleRequests().Post(ctx, req(models.SELFRENEW_UNIFIEDROLESCHEDULEREQUESTACTIONS, "P30D"), nil); err != nil ||
		val(out.GetStatus()) != "PendingAdminDecision" || val(out.GetAction()) != models.SELFRENEW_UNIFIEDROLESCHEDULEREQUESTACTIONS {
		t.Fatalf("selfRenew: %v %s", err, describe(out))
	}
	out, err := eligibility.Post(ctx, req(models.ADMINRENEW_UNIFIEDROLESCHEDULEREQUESTACTIONS, "P30D"), nil)
	if err != nil {
		sdkFatal(t, "adminRenew", err)
	}
	if val(out.GetStatus()) != "Provisioned" || val(out.GetAction()) != models.ADMINRENEW_UNIFIEDROLESCHEDULEREQUESTACTIONS || !sameDuration(t, out.GetScheduleInfo().GetExpiration().GetDuration(), "P30D") {
		t.Fatalf("adminRenew: %s", describe(out))
	}
	if n := live(); n != 1 {
		t.Fatalf("%d live eligibilities after adminRenew", n)
	}
	if _, err := eligibility.Post(ctx, req(models.ADMINREMOVE_UNIFIEDROLESCHEDULEREQUESTACTIONS, ""), nil); err != nil {
		sdkFatal(t, "clean up", err)
	}
}

func dir(c *graphClient) *rolemanagement.DirectoryRequestBuilder { return c.rm.Directory() }
