package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Role template ids used by the demo (Entra built-in roles).
const (
	RoleGlobalAdmin   = "62e90394-69f5-4237-9190-012177145e10"
	RoleExchangeAdmin = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	RoleHelpdeskAdmin = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
)

// Client calls the jitpim API of a stack as one user.
type Client struct {
	Stack *Stack
	Token string
}

// As returns a client acting as a demo user (by UPN alias), with or without MFA.
func (s *Stack) As(alias string, mfa bool) (*Client, error) {
	id := UserID(s.Tenant, alias)
	if id == "" {
		return nil, fmt.Errorf("no demo user %q", alias)
	}
	tok, err := s.Token(id, mfa)
	if err != nil {
		return nil, err
	}
	return &Client{Stack: s, Token: tok}, nil
}

// Do sends a request to the API and decodes the JSON answer, if any.
func (c *Client) Do(ctx context.Context, method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Stack.HostURL+"/api/"+strings.ReplaceAll(strings.TrimPrefix(path, "/"), " ", "%20"), rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, err
	}
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			return res.StatusCode, nil, fmt.Errorf("%s %s: answer is not JSON: %.200s", method, path, data)
		}
	}
	return res.StatusCode, out, nil
}

func (c *Client) expect(ctx context.Context, ok []int, method, path string, body any) error {
	code, out, err := c.Do(ctx, method, path, body)
	if err != nil {
		return err
	}
	for _, k := range ok {
		if code == k {
			return nil
		}
	}
	return fmt.Errorf("%s %s: %d %v", method, path, code, out)
}

func rulePath(policy, rule string) string {
	return "policies/roleManagementPolicies/" + policy + "/rules/" + rule
}

// Seed configures the demo tenant through the API as the admin Gina: the
// per-role settings of the seed guide (Global Administrator with MFA,
// ticket and approval for one hour; Exchange Administrator two hours;
// Helpdesk Administrator eight hours with a ticket), PIM for Groups on the
// "Global Administrators (God Mode)" group and the privileged access
// groups, and a few eligibilities. Re-running it changes nothing.
func (s *Stack) Seed(ctx context.Context) error {
	gina, err := s.As("gina", true)
	if err != nil {
		return err
	}
	alice := UserID(s.Tenant, "alice")
	approval := func(approver string) map[string]any {
		return map[string]any{"setting": map[string]any{"isApprovalRequired": true, "approvalMode": "SingleStage",
			"approvalStages": []any{map[string]any{"approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true,
				"primaryApprovers": []any{map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": approver}}}}}}
	}
	enable := func(rules ...string) map[string]any { return map[string]any{"enabledRules": rules} }
	maxDur := func(d string) map[string]any { return map[string]any{"maximumDuration": d} }
	expiring := func(d string) map[string]any {
		return map[string]any{"isExpirationRequired": true, "maximumDuration": d}
	}
	godMode := "Group_" + GroupID(s.Tenant, "Global Administrators (God Mode)") + "_member"
	serviceDesk := "Group_" + GroupID(s.Tenant, "PAG-SERVICE-DESK") + "_member"
	devTeam := "Group_" + GroupID(s.Tenant, "PAG-DEV-TEAM") + "_member"
	type patch struct {
		policy, rule string
		body         map[string]any
	}
	patches := []patch{
		{"DirectoryRole_" + RoleGlobalAdmin, "Expiration_EndUser_Assignment", maxDur("PT1H")},
		{"DirectoryRole_" + RoleGlobalAdmin, "Enablement_EndUser_Assignment", enable("MultiFactorAuthentication", "Justification", "Ticketing")},
		{"DirectoryRole_" + RoleGlobalAdmin, "Approval_EndUser_Assignment", approval(alice)},
		{"DirectoryRole_" + RoleExchangeAdmin, "Expiration_EndUser_Assignment", maxDur("PT2H")},
		{"DirectoryRole_" + RoleExchangeAdmin, "Expiration_Admin_Eligibility", expiring("P180D")},
		{"DirectoryRole_" + RoleHelpdeskAdmin, "Expiration_EndUser_Assignment", maxDur("PT8H")},
		{"DirectoryRole_" + RoleHelpdeskAdmin, "Enablement_EndUser_Assignment", enable("Ticketing")},
		{"DirectoryRole_" + RoleHelpdeskAdmin, "Expiration_Admin_Eligibility", expiring("P180D")},
		{godMode, "Expiration_EndUser_Assignment", maxDur("PT1H")},
		{godMode, "Enablement_EndUser_Assignment", enable("MultiFactorAuthentication", "Justification", "Ticketing")},
		{godMode, "Approval_EndUser_Assignment", approval(alice)},
		{serviceDesk, "Expiration_EndUser_Assignment", maxDur("PT8H")},
		{serviceDesk, "Expiration_Admin_Eligibility", expiring("P365D")},
		{serviceDesk, "Expiration_Admin_Assignment", expiring("P365D")},
		{devTeam, "Expiration_EndUser_Assignment", maxDur("PT5H")},
		{devTeam, "Expiration_Admin_Eligibility", expiring("P180D")},
	}
	for _, p := range patches {
		if err := gina.expect(ctx, []int{200}, "PATCH", rulePath(p.policy, p.rule), p.body); err != nil {
			return fmt.Errorf("seed policy: %w", err)
		}
	}
	groupElig := func(alias, group, dur string) error {
		exp := map[string]any{"type": "noExpiration"}
		if dur != "" {
			exp = map[string]any{"type": "afterDuration", "duration": dur}
		}
		return gina.expect(ctx, []int{201, 409}, "POST", "identityGovernance/privilegedAccess/group/eligibilityScheduleRequests", map[string]any{
			"action": "adminAssign", "principalId": UserID(s.Tenant, alias), "groupId": GroupID(s.Tenant, group), "accessId": "member",
			"justification": "demo seed", "scheduleInfo": map[string]any{"expiration": exp}})
	}
	roleElig := func(alias, role, dur string) error {
		exp := map[string]any{"type": "noExpiration"}
		if dur != "" {
			exp = map[string]any{"type": "afterDuration", "duration": dur}
		}
		return gina.expect(ctx, []int{201, 409}, "POST", "roleManagement/directory/roleEligibilityScheduleRequests", map[string]any{
			"action": "adminAssign", "principalId": UserID(s.Tenant, alias), "roleDefinitionId": role, "directoryScopeId": "/",
			"justification": "demo seed", "scheduleInfo": map[string]any{"expiration": exp}})
	}
	for _, err := range []error{
		groupElig("rita", "Global Administrators (God Mode)", ""),
		roleElig("rita", RoleGlobalAdmin, ""),
		roleElig("steve", RoleHelpdeskAdmin, "P180D"),
		groupElig("stan", "PAG-DEV-TEAM", "P180D"),
		groupElig("steve", "PAG-SERVICE-DESK-L2", ""),
	} {
		if err != nil {
			return fmt.Errorf("seed eligibility: %w", err)
		}
	}
	return nil
}
