package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
)

// The demo Azure estate (local/demo/azure.json): a subscription whose
// Owner is Alice, with the resource groups rg-web and rg-data.
const (
	demoSub   = "/subscriptions/8f1c2a63-5d4e-4b7a-9c3e-2a6b1d0f4e57"
	demoRGWeb = demoSub + "/resourceGroups/rg-web"
)

// devToken is an azcore.TokenCredential minting the dev issuer's tokens
// for one demo user, as a managed identity or az login would for Azure.
type devToken struct{ oid string }

func (d devToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := st.Token(d.oid, true)
	return azcore.AccessToken{Token: tok, ExpiresOn: time.Now().Add(time.Hour)}, err
}

// armClients are the official armauthorization v2 clients, pointed at
// jitpim instead of Azure Resource Manager.
type armClients struct {
	elig      *armauthorization.RoleEligibilityScheduleRequestsClient
	assign    *armauthorization.RoleAssignmentScheduleRequestsClient
	instances *armauthorization.RoleAssignmentScheduleInstancesClient
	eligInst  *armauthorization.RoleEligibilityScheduleInstancesClient
	policies  *armauthorization.RoleManagementPoliciesClient
	bindings  *armauthorization.RoleManagementPolicyAssignmentsClient
}

func armAs(t *testing.T, alias string) armClients {
	t.Helper()
	endpoint := st.HostURL + "/api"
	opts := &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: endpoint, Audience: "api://jitpim"}}},
		InsecureAllowCredentialWithHTTP: true, // loopback only: the local stack
		Retry:                           policy.RetryOptions{MaxRetries: -1},
	}, DisableRPRegistration: true}
	cred := devToken{user(alias)}
	f, err := armauthorization.NewClientFactory("", cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	return armClients{f.NewRoleEligibilityScheduleRequestsClient(), f.NewRoleAssignmentScheduleRequestsClient(),
		f.NewRoleAssignmentScheduleInstancesClient(), f.NewRoleEligibilityScheduleInstancesClient(),
		f.NewRoleManagementPoliciesClient(), f.NewRoleManagementPolicyAssignmentsClient()}
}

func roleRef(role domain.ObjectID) *string {
	return to.Ptr(demoSub + "/providers/Microsoft.Authorization/roleDefinitions/" + string(role))
}

func respErr(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode
	}
	return 0, ""
}

// TestAzureResourceRoleThroughARMClients is the Azure walkthrough, driven
// by the armauthorization v2 clients: an admin makes Stan eligible for
// Contributor on rg-web; his activation waits for the other owners of the
// resource (the demo policy file's otherOwners: Alice, the subscription's
// Owner; not the break-glass Owner) and is granted in Azure by her
// approval; the clients read and
// list the requests and instances; expiry removes exactly that assignment,
// and the assignments made outside jitpim (Owners on the subscription, a
// break-glass account among them, and Stan's own Reader on rg-data) stay.
func TestAzureResourceRoleThroughARMClients(t *testing.T) {
	defer advance(t, 0)
	ctx := context.Background()
	gina, stan := armAs(t, "gina"), armAs(t, "stan")
	seeded := st.ARM.Assignments()
	stanID := user("stan")

	eligName := uuid.NewString()
	elig := armauthorization.RoleEligibilityScheduleRequest{Properties: &armauthorization.RoleEligibilityScheduleRequestProperties{
		PrincipalID: to.Ptr(stanID), RoleDefinitionID: roleRef(domain.AzureRoleContributor), RequestType: to.Ptr(armauthorization.RequestTypeAdminAssign),
		Justification: to.Ptr("web tier on-call"),
		ScheduleInfo: &armauthorization.RoleEligibilityScheduleRequestPropertiesScheduleInfo{
			Expiration: &armauthorization.RoleEligibilityScheduleRequestPropertiesScheduleInfoExpiration{Type: to.Ptr(armauthorization.TypeAfterDuration), Duration: to.Ptr("P90D")}},
	}}
	got, err := gina.elig.Create(ctx, demoRGWeb, eligName, elig, nil)
	if err != nil {
		t.Fatalf("eligibility through the ARM client: %v", err)
	}
	if *got.Properties.Status != armauthorization.StatusProvisioned || *got.Name != eligName {
		t.Fatalf("eligibility: %+v", got.Properties)
	}
	again, err := gina.elig.Create(ctx, demoRGWeb, eligName, elig, nil)
	if err != nil || *again.ID != *got.ID {
		t.Fatalf("a repeated PUT under one name must return the first request: %v %v", err, again.ID)
	}
	// Stan may not make himself eligible.
	_, err = stan.elig.Create(ctx, demoRGWeb, uuid.NewString(), elig, nil)
	if code, _ := respErr(err); code != http.StatusForbidden {
		t.Fatalf("self-made eligibility: %v, want 403", err)
	}

	// The settings table's Owner row, applied from the demo policy file:
	// approval by the other owners of the resource.
	if owners := approversOf(t, gina, demoRGWeb, domain.AzureRoleContributor); len(owners) != 1 || *owners[0].UserType != armUserTypeOwners {
		t.Fatalf("Contributor on rg-web is approved by %+v, want the other owners of the resource", owners)
	}
	ginaHTTP := as(t, "gina", true)

	actName := uuid.NewString()
	act, err := stan.assign.Create(ctx, demoRGWeb, actName, armauthorization.RoleAssignmentScheduleRequest{Properties: &armauthorization.RoleAssignmentScheduleRequestProperties{
		PrincipalID: to.Ptr(stanID), RoleDefinitionID: roleRef(domain.AzureRoleContributor), RequestType: to.Ptr(armauthorization.RequestTypeSelfActivate),
		Justification: to.Ptr("INC0012399 web tier outage"),
		ScheduleInfo: &armauthorization.RoleAssignmentScheduleRequestPropertiesScheduleInfo{
			Expiration: &armauthorization.RoleAssignmentScheduleRequestPropertiesScheduleInfoExpiration{Type: to.Ptr(armauthorization.TypeAfterDuration), Duration: to.Ptr("PT1H")}},
	}}, nil)
	if err != nil {
		t.Fatalf("activation through the ARM client: %v", err)
	}
	if *act.Properties.Status != armauthorization.StatusPendingApproval || act.Properties.ApprovalID == nil {
		t.Fatalf("activation: %+v, want PendingApproval with an approvalId", act.Properties)
	}
	// The owners were read from Azure as Stan asked: Alice, and not the
	// break-glass account that owns the subscription too.
	approvalPath := "providers/Microsoft.Authorization/roleAssignmentApprovals/" + actName + "?api-version=2021-01-01-preview"
	approval := must(t, as(t, "alice", true), 200, "GET", approvalPath, nil)
	if !strings.Contains(fmt.Sprint(approval), "assignedToMe:true") {
		t.Fatalf("approval as Alice %v: want the stage assigned to her", approval)
	}
	// The break-glass account (a Global Administrator, so it may read the
	// approval) is not asked, and may not decide.
	if code, out, _ := as(t, "bg1", true).Do(ctx, "GET", approvalPath, nil); code != 200 || strings.Contains(fmt.Sprint(out), "assignedToMe:true") {
		t.Fatalf("approval as the break-glass Owner: %d %v, want it not assigned to them", code, out)
	}
	if st.ARM.Has(stanID, string(domain.AzureRoleContributor), demoRGWeb) {
		t.Fatal("Contributor granted before approval")
	}
	read, err := stan.assign.Get(ctx, demoRGWeb, actName, nil)
	if err != nil || *read.Properties.Status != armauthorization.StatusPendingApproval {
		t.Fatalf("Get: %v %+v", err, read)
	}
	pager := stan.assign.NewListForScopePager(demoSub, &armauthorization.RoleAssignmentScheduleRequestsClientListForScopeOptions{Filter: to.Ptr("asRequestor()")})
	found := false
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, r := range page.Value {
			found = found || *r.Name == actName
		}
	}
	if !found {
		t.Fatal("the request is not listed at the subscription, above its resource group")
	}

	stagePath := "providers/Microsoft.Authorization/roleAssignmentApprovals/" + actName + "/stages/stage-1?api-version=2021-01-01-preview"
	decision := map[string]any{"properties": map[string]any{"reviewResult": "Approve", "justification": "trust me"}}
	for _, who := range []string{"stan", "bg1"} {
		if code, out, _ := as(t, who, true).Do(ctx, "PUT", stagePath, decision); code != 403 {
			t.Fatalf("approval by %s: %d %v, want 403", who, code, out)
		}
	}
	// Someone who is neither requester, approver nor admin is told the approval does not exist.
	if code, out, _ := as(t, "adam", true).Do(ctx, "PUT", stagePath, decision); code != 404 {
		t.Fatalf("approval by someone who is not the Owner: %d %v", code, out)
	}
	decision["properties"].(map[string]any)["justification"] = "web outage confirmed"
	must(t, as(t, "alice", true), 200, "PUT", stagePath, decision)
	read, err = stan.assign.Get(ctx, demoRGWeb, actName, nil)
	if err != nil || *read.Properties.Status != armauthorization.StatusProvisioned {
		t.Fatalf("after the Owner's approval: %v %+v", err, read.Properties)
	}
	// The mails name the subscription as Azure does (its displayName in
	// the demo estate), never by its id.
	const named = "Contributor at resource group rg-web (subscription Contoso Production)"
	var toAlice, toStan bool
	for _, m := range st.Graph.Outbox() {
		if !strings.Contains(m.Subject+m.Body, "rg-web") {
			continue
		}
		if strings.Contains(m.Subject+m.Body, "(subscription 8f1c2a63") {
			t.Fatalf("mail %q to %v names the subscription by id:\n%s", m.Subject, m.To, m.Body)
		}
		mentions := strings.Contains(m.Subject+m.Body, named)
		toAlice = toAlice || (mentions && slices.ContainsFunc(m.To, func(a string) bool { return strings.HasPrefix(a, "alice") }))
		toStan = toStan || (mentions && slices.ContainsFunc(m.To, func(a string) bool { return strings.HasPrefix(a, "stan") }))
	}
	if !toAlice || !toStan {
		t.Fatalf("mail naming %q: to Alice (approver) %v, to Stan (activated) %v; outbox %v", named, toAlice, toStan, outboxSubjects())
	}
	want := domain.AzureAssignmentName(domain.CanonicalID(stanID), domain.AzureRoleTarget(domain.AzureRoleContributor, strings.ToLower(demoRGWeb)))
	if !st.ARM.Has(stanID, string(domain.AzureRoleContributor), demoRGWeb) || len(st.ARM.Assignments()) != len(seeded)+1 {
		t.Fatalf("Azure after approval: %+v", st.ARM.Assignments())
	}
	for _, a := range st.ARM.Assignments() {
		if a.PrincipalID == stanID && a.RoleDefinitionID == string(domain.AzureRoleContributor) && a.Name != want {
			t.Fatalf("assignment named %s, want the deterministic %s", a.Name, want)
		}
	}
	inst := stan.instances.NewListForScopePager(demoRGWeb, &armauthorization.RoleAssignmentScheduleInstancesClientListForScopeOptions{Filter: to.Ptr("asTarget()")})
	n := 0
	for inst.More() {
		page, err := inst.NextPage(ctx)
		if err != nil {
			t.Fatalf("instances: %v", err)
		}
		for _, i := range page.Value {
			if *i.Properties.AssignmentType == armauthorization.AssignmentTypeActivated && strings.EqualFold(*i.Properties.Scope, demoRGWeb) {
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d activated instances on rg-web, want 1", n)
	}
	eligPager := stan.eligInst.NewListForScopePager(demoRGWeb, &armauthorization.RoleEligibilityScheduleInstancesClientListForScopeOptions{Filter: to.Ptr("asTarget()")})
	if page, err := eligPager.NextPage(ctx); err != nil || len(page.Value) != 1 {
		t.Fatalf("eligibility instances: %v %d", err, len(page.Value))
	}

	advance(t, 2*time.Hour)
	if res, err := st.RunTimer(ctx, "expirySweep"); err != nil {
		t.Fatalf("sweep: %v %s", err, res)
	}
	if st.ARM.Has(stanID, string(domain.AzureRoleContributor), demoRGWeb) {
		t.Fatal("the expired activation is still assigned in Azure")
	}
	after := st.ARM.Assignments()
	if len(after) != len(seeded) {
		t.Fatalf("after expiry Azure holds %+v, want exactly what was there before: %+v", after, seeded)
	}
	for i := range seeded {
		if after[i].Name != seeded[i].Name || after[i].Scope != seeded[i].Scope {
			t.Fatalf("after expiry Azure holds %+v, want exactly what was there before: %+v", after, seeded)
		}
	}

	// The alert scan reports Alice's Owner assignment at the subscription,
	// made outside jitpim and inherited by the managed resource group, and
	// leaves it (and the break-glass account's) in place.
	if res, err := st.RunTimer(ctx, "alertScan"); err != nil {
		t.Fatalf("alert scan: %v %s", err, res)
	}
	incs := must(t, ginaHTTP, 200, "GET", alertsAPI+"alerts/"+domain.AlertRolesOutsidePIM+"/alertIncidents", nil)
	var reported, breakGlass bool
	for _, v := range incs["value"].([]any) {
		inc := v.(map[string]any)
		d, _ := inc["details"].(map[string]any)
		if d == nil || d["scope"] != strings.ToLower(demoSub) {
			continue
		}
		reported = reported || (inc["assigneeId"] == user("alice") && inc["roleDefinitionId"] == string(domain.AzureRoleOwner))
		breakGlass = breakGlass || inc["assigneeId"] == user("bg1")
	}
	if !reported || breakGlass {
		t.Fatalf("incidents %v: want Alice's Owner at the subscription reported, the break-glass account's not", incs)
	}
	if !st.ARM.Has(user("alice"), string(domain.AzureRoleOwner), demoSub) || len(st.ARM.Assignments()) != len(seeded) {
		t.Fatal("the alert scan removed an outside Azure assignment")
	}
}

// TestARMShapedAPIRefusals: bad input gets ARM's error shape, a 4xx naming
// the property, and changes nothing.
func TestARMShapedAPIRefusals(t *testing.T) {
	ctx := context.Background()
	gina := as(t, "gina", true)
	before := len(st.ARM.Assignments())
	base := demoRGWeb + "/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/"
	body := func(props map[string]any) map[string]any { return map[string]any{"properties": props} }
	ok := map[string]any{"principalId": user("stan"), "roleDefinitionId": *roleRef(domain.AzureRoleReader), "requestType": "AdminAssign",
		"scheduleInfo": map[string]any{"expiration": map[string]any{"type": "NoExpiration"}}}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range ok {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name, path string
		body       any
		want       int
		field      string
	}{
		{"no api-version", base + uuid.NewString(), body(ok), 400, "api-version"},
		{"old api-version", base + uuid.NewString() + "?api-version=2018-01-01-preview", body(ok), 400, "api-version"},
		{"name not a GUID", base + "my-request?api-version=2020-10-01", body(ok), 400, "name"},
		{"bad role id", base + uuid.NewString() + "?api-version=2020-10-01", body(with("roleDefinitionId", "Contributor")), 400, "properties.roleDefinitionId"},
		{"bad request type", base + uuid.NewString() + "?api-version=2020-10-01", body(with("requestType", "Grant")), 400, "properties.requestType"},
		{"unknown property", base + uuid.NewString() + "?api-version=2020-10-01", body(with("roleName", "Owner")), 400, "roleName"},
		{"scope with a forbidden character", demoSub + "/resourceGroups/rg%7Cweb/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/" + uuid.NewString() + "?api-version=2020-10-01", body(ok), 400, "scope"},
		{"unknown scope kind", demoSub + "/locks/x/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/" + uuid.NewString() + "?api-version=2020-10-01", body(ok), 400, "scope"},
		{"tenant root", "providers/Microsoft.Authorization/roleEligibilityScheduleRequests/" + uuid.NewString() + "?api-version=2020-10-01", body(ok), 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, err := gina.Do(ctx, "PUT", strings.TrimPrefix(tc.path, "/"), tc.body)
			if err != nil || code != tc.want {
				t.Fatalf("%d %v %v, want %d", code, out, err, tc.want)
			}
			e, _ := out["error"].(map[string]any)
			if e == nil || e["code"] == "" || e["message"] == "" {
				t.Fatalf("no ARM error body: %v", out)
			}
			if tc.field != "" && !strings.Contains(fmt.Sprint(e["target"], " ", e["message"]), tc.field) {
				t.Fatalf("the error does not name %s: %v", tc.field, e)
			}
		})
	}
	if len(st.ARM.Assignments()) != before {
		t.Fatal("a refused request changed Azure")
	}
}

func outboxSubjects() []string {
	var out []string
	for _, m := range st.Graph.Outbox() {
		out = append(out, fmt.Sprint(m.To, " ", m.Subject))
	}
	return out
}
