package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// The ARM-shaped API mirrors Azure's own PIM for Azure resources
// (Microsoft.Authorization, api-version 2020-10-01): the same paths below a
// scope, the same {id, name, type, properties} resources, {value,
// nextLink} collections and {"error": {code, message}} errors, so that
// the armauthorization clients drive jitpim when their endpoint points at
// it, as the Graph SDKs do on the Graph-shaped API. Requests are named by
// the client (a GUID) and the name is the request's id: a PUT repeated
// under one name returns the first request.

// ARMAPIVersion is the api-version the ARM-shaped API serves.
const ARMAPIVersion = "2020-10-01"

// armApprovalsAPIVersion is Azure's api-version for approvals of Azure
// resource role requests (roleAssignmentApprovals).
const armApprovalsAPIVersion = "2021-01-01-preview"

const authzSegment = "/providers/microsoft.authorization/"

// ARM resource collections jitpim serves.
const (
	armEligibilityRequests  = "roleEligibilityScheduleRequests"
	armAssignmentRequests   = "roleAssignmentScheduleRequests"
	armEligibilitySchedules = "roleEligibilitySchedules"
	armAssignmentSchedules  = "roleAssignmentSchedules"
	armEligibilityInstances = "roleEligibilityScheduleInstances"
	armAssignmentInstances  = "roleAssignmentScheduleInstances"
	armApprovals            = "roleAssignmentApprovals"
	armPolicies             = "roleManagementPolicies"
	armPolicyAssignments    = "roleManagementPolicyAssignments"
)

// armResource is ARM's envelope of every resource.
type armResource struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties any    `json:"properties"`
}

// armList is ARM's collection.
type armList struct {
	Value    []armResource `json:"value"`
	NextLink *string       `json:"nextLink,omitempty"`
}

type armScheduleInfo struct {
	StartDateTime *string       `json:"startDateTime,omitempty"`
	Expiration    armExpiration `json:"expiration"`
}

type armExpiration struct {
	Type        string  `json:"type"`
	Duration    *string `json:"duration,omitempty"`
	EndDateTime *string `json:"endDateTime,omitempty"`
}

type armTicketInfo struct {
	TicketNumber *string `json:"ticketNumber,omitempty"`
	TicketSystem *string `json:"ticketSystem,omitempty"`
}

// armRequestProps are a schedule request's properties, both ways.
type armRequestProps struct {
	Scope                           string           `json:"scope,omitempty"`
	RoleDefinitionID                string           `json:"roleDefinitionId"`
	PrincipalID                     string           `json:"principalId"`
	PrincipalType                   string           `json:"principalType,omitempty"`
	RequestType                     string           `json:"requestType"`
	Status                          string           `json:"status,omitempty"`
	ApprovalID                      *string          `json:"approvalId,omitempty"`
	ScheduleInfo                    *armScheduleInfo `json:"scheduleInfo,omitempty"`
	Justification                   *string          `json:"justification,omitempty"`
	TicketInfo                      *armTicketInfo   `json:"ticketInfo,omitempty"`
	LinkedRoleEligibilityScheduleID *string          `json:"linkedRoleEligibilityScheduleId,omitempty"`
	TargetScheduleID                *string          `json:"targetRoleAssignmentScheduleId,omitempty"`
	TargetEligibilityScheduleID     *string          `json:"targetRoleEligibilityScheduleId,omitempty"`
	CreatedOn                       *string          `json:"createdOn,omitempty"`
	RequestorID                     string           `json:"requestorId,omitempty"`
}

// armScheduleProps are a schedule's or instance's properties.
type armScheduleProps struct {
	Scope                     string  `json:"scope"`
	RoleDefinitionID          string  `json:"roleDefinitionId"`
	PrincipalID               string  `json:"principalId"`
	PrincipalType             string  `json:"principalType"`
	AssignmentType            string  `json:"assignmentType,omitempty"`
	MemberType                string  `json:"memberType"`
	Status                    string  `json:"status"`
	StartDateTime             *string `json:"startDateTime,omitempty"`
	EndDateTime               *string `json:"endDateTime,omitempty"`
	CreatedOn                 *string `json:"createdOn,omitempty"`
	RoleAssignmentScheduleID  string  `json:"roleAssignmentScheduleId,omitempty"`
	RoleEligibilityScheduleID string  `json:"roleEligibilityScheduleId,omitempty"`
	LinkedEligibilityID       string  `json:"linkedRoleEligibilityScheduleId,omitempty"`
	RoleAssignmentRequestID   string  `json:"roleAssignmentScheduleRequestId,omitempty"`
}

// armPath is a parsed ARM path: the scope and what follows
// /providers/Microsoft.Authorization/.
type armPath struct {
	scope      string // canonical; "" for tenant-level resources (approvals)
	collection string // canonical spelling, e.g. roleAssignmentScheduleRequests
	name       string
	action     string // cancel, validate, stages
	stage      string
}

var armCollections = []string{armEligibilityRequests, armAssignmentRequests, armEligibilitySchedules, armAssignmentSchedules,
	armEligibilityInstances, armAssignmentInstances, armApprovals, armPolicies, armPolicyAssignments}

func parseARMPath(p string) (armPath, error) {
	p = strings.TrimPrefix(p, "/api")
	i := strings.LastIndex(strings.ToLower(p), authzSegment)
	if i < 0 {
		return armPath{}, domain.Errorf(domain.CodeNotFound, "no resource at %s: Azure resources live below {scope}/providers/Microsoft.Authorization/", p)
	}
	var out armPath
	if scopeText := p[:i]; scopeText != "" {
		s, err := domain.ParseAzureScope("scope", scopeText)
		if err != nil {
			return armPath{}, err
		}
		out.scope = s
	}
	segs := strings.Split(strings.TrimSuffix(p[i+len(authzSegment):], "/"), "/")
	for _, c := range armCollections {
		if strings.EqualFold(c, segs[0]) {
			out.collection = c
		}
	}
	if out.collection == "" || len(segs) > 4 {
		return armPath{}, domain.Errorf(domain.CodeNotFound, "jitpim serves no Microsoft.Authorization/%s", segs[0])
	}
	if (out.collection == armApprovals) != (out.scope == "") {
		return armPath{}, domain.Errorf(domain.CodeNotFound, "%s lives at the tenant (/providers/Microsoft.Authorization/%s), other resources below a scope", armApprovals, armApprovals)
	}
	if len(segs) > 1 && (out.collection == armPolicies || out.collection == armPolicyAssignments) {
		out.name = segs[1] // a policy id: base64 of the scope, case-sensitive (armpolicies.go)
	} else if len(segs) > 1 {
		out.name = strings.ToLower(segs[1])
		if !domain.IsGUID(out.name) {
			return armPath{}, domain.Invalid("name", "must be a GUID, got %q", segs[1])
		}
	}
	if len(segs) > 2 {
		out.action = strings.ToLower(segs[2])
	}
	if len(segs) > 3 {
		out.stage = segs[3]
	}
	return out, nil
}

// serveARM answers every ARM-shaped route.
func (s *Server) serveARM(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	p, err := parseARMPath(r.URL.Path)
	if err != nil {
		return 0, nil, err
	}
	want := ARMAPIVersion
	if p.collection == armApprovals {
		want = armApprovalsAPIVersion
	}
	if v := r.URL.Query().Get("api-version"); v != want {
		return 0, nil, domain.Invalid("api-version", "jitpim serves api-version=%s here, got %q", want, v)
	}
	switch {
	case p.collection == armApprovals:
		return s.armApproval(ctx, c, r, p)
	case p.collection == armPolicies || p.collection == armPolicyAssignments:
		return s.armPolicy(ctx, c, r, p)
	case p.collection == armEligibilityRequests || p.collection == armAssignmentRequests:
		kind := domain.KindEligibility
		if p.collection == armAssignmentRequests {
			kind = domain.KindAssignment
		}
		switch {
		case p.name == "" && r.Method == http.MethodGet:
			return s.armListRequests(ctx, c, r, p, kind)
		case p.action == "" && r.Method == http.MethodPut:
			return s.armSubmit(ctx, c, r, p, kind, false)
		case p.action == "validate" && r.Method == http.MethodPost:
			return s.armSubmit(ctx, c, r, p, kind, true)
		case p.action == "" && r.Method == http.MethodGet:
			req, err := s.eng.GetRequest(ctx, c, kind, p.name)
			if err != nil || !armVisible(req.Target, p.scope) {
				return 0, nil, domain.Errorf(domain.CodeNotFound, "%s %s does not exist at %s", p.collection, p.name, p.scope)
			}
			return http.StatusOK, armRequest(req, p.collection), nil
		case p.action == "cancel" && r.Method == http.MethodPost:
			// Only Azure requests at this scope: a directory role's request is cancelled on its own API.
			if req, err := s.eng.GetRequest(ctx, c, kind, p.name); err != nil || !armVisible(req.Target, p.scope) {
				return 0, nil, domain.Errorf(domain.CodeNotFound, "%s %s does not exist at %s", p.collection, p.name, p.scope)
			}
			if _, err := s.eng.Cancel(ctx, c, kind, p.name); err != nil {
				return 0, nil, err
			}
			return http.StatusOK, nil, nil
		}
	default:
		kind, instances := domain.KindAssignment, false
		switch p.collection {
		case armEligibilitySchedules:
			kind = domain.KindEligibility
		case armEligibilityInstances:
			kind, instances = domain.KindEligibility, true
		case armAssignmentInstances:
			instances = true
		}
		if r.Method == http.MethodGet && p.action == "" {
			return s.armSchedules(ctx, c, r, p, kind, instances)
		}
	}
	return 0, nil, domain.Errorf(domain.CodeNotFound, "%s is not served on %s", r.Method, r.URL.Path)
}

// armVisible keeps the ARM-shaped API to Azure targets at or below the
// scope asked about.
func armVisible(t domain.Target, scope string) bool {
	return t.Kind == domain.TargetAzureRole && domain.AzureScopeCovers(scope, t.ResourceScope)
}

// armRequestType reads ARM's requestType, which Azure spells in
// PascalCase (AdminAssign, SelfActivate), as one of Graph's actions.
func armRequestType(s string) (domain.Action, bool) {
	for _, a := range domain.Actions {
		if strings.EqualFold(s, string(a)) {
			return a, true
		}
	}
	return "", false
}

// armRoleDefinitionID reads a role definition's resource id
// (/subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions/{guid},
// or the tenant-level form) to its GUID.
func armRoleDefinitionID(s string) (domain.ObjectID, error) {
	const seg = "/providers/microsoft.authorization/roledefinitions/"
	i := strings.LastIndex(strings.ToLower(s), seg)
	if i < 0 {
		return "", domain.Invalid("properties.roleDefinitionId", "must be a role definition's resource id (…/providers/Microsoft.Authorization/roleDefinitions/{id}), got %q", clip(s))
	}
	return domain.ParseObjectID("properties.roleDefinitionId", s[i+len(seg):])
}

func armRoleDefinitionRef(scope string, id domain.ObjectID) string {
	if strings.HasPrefix(scope, "/subscriptions/") {
		return "/subscriptions/" + strings.Split(scope, "/")[2] + "/providers/Microsoft.Authorization/roleDefinitions/" + string(id)
	}
	return "/providers/Microsoft.Authorization/roleDefinitions/" + string(id)
}

func (s *Server) armSubmit(ctx context.Context, c *engine.Call, r *http.Request, p armPath, kind domain.RequestKind, validate bool) (int, any, error) {
	if p.name == "" {
		return 0, nil, domain.Invalid("name", "a request is created by PUT {scope}/providers/Microsoft.Authorization/%s/{GUID}", p.collection)
	}
	var env struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := readBody(r, []string{"properties", "id", "name", "type"}, &env); err != nil {
		return 0, nil, err
	}
	if len(env.Properties) == 0 {
		return 0, nil, domain.Invalid("properties", "is required")
	}
	var in armRequestProps
	if err := decodeStrict(env.Properties, []string{"roleDefinitionId", "principalId", "requestType", "scheduleInfo", "justification",
		"ticketInfo", "linkedRoleEligibilityScheduleId", "targetRoleAssignmentScheduleId", "targetRoleEligibilityScheduleId",
		"targetRoleAssignmentScheduleInstanceId", "targetRoleEligibilityScheduleInstanceId", "condition", "conditionVersion", "scope",
		"principalType"}, &in); err != nil {
		return 0, nil, err
	}
	sub, err := armSubmission(in, p, kind)
	if err != nil {
		return 0, nil, err
	}
	sub.RequestName, sub.ValidationOnly = p.name, validate
	req, err := s.eng.Submit(ctx, c, sub)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, armRequest(req, p.collection), nil
}

// armSubmission reads an ARM request body into a submission; every
// refusal names the property.
func armSubmission(in armRequestProps, p armPath, kind domain.RequestKind) (engine.Submission, error) {
	action, ok := armRequestType(in.RequestType)
	if !ok {
		return engine.Submission{}, domain.Invalid("properties.requestType", "must be AdminAssign, AdminRemove, AdminUpdate, AdminExtend, AdminRenew, SelfActivate, SelfDeactivate, SelfExtend or SelfRenew, got %q", clip(in.RequestType))
	}
	principal, err := domain.ParseObjectID("properties.principalId", in.PrincipalID)
	if err != nil {
		return engine.Submission{}, err
	}
	role, err := armRoleDefinitionID(in.RoleDefinitionID)
	if err != nil {
		return engine.Submission{}, err
	}
	if in.Scope != "" {
		if sc, err := domain.ParseAzureScope("properties.scope", in.Scope); err != nil {
			return engine.Submission{}, err
		} else if sc != p.scope {
			return engine.Submission{}, domain.Invalid("properties.scope", "must be the scope in the path (%s), got %q", p.scope, clip(in.Scope))
		}
	}
	sub := engine.Submission{Kind: kind, Action: action, PrincipalID: principal, Target: domain.AzureRoleTarget(role, p.scope)}
	if in.Justification != nil {
		sub.Justification = *in.Justification
	}
	if in.TicketInfo != nil {
		if in.TicketInfo.TicketNumber != nil {
			sub.Ticket.Number = *in.TicketInfo.TicketNumber
		}
		if in.TicketInfo.TicketSystem != nil {
			sub.Ticket.System = *in.TicketInfo.TicketSystem
		}
	}
	for _, id := range []*string{in.TargetScheduleID, in.TargetEligibilityScheduleID} {
		if id != nil && *id != "" {
			sub.TargetScheduleID = (*id)[strings.LastIndex(*id, "/")+1:]
		}
	}
	if si := in.ScheduleInfo; si != nil {
		if si.StartDateTime != nil && *si.StartDateTime != "" {
			t, err := parseTime("properties.scheduleInfo.startDateTime", *si.StartDateTime)
			if err != nil {
				return engine.Submission{}, err
			}
			sub.Schedule.Start = t
		}
		if si.Expiration.Type != "" {
			et, ok := domain.ParseExpirationType(si.Expiration.Type)
			if !ok {
				return engine.Submission{}, domain.Invalid("properties.scheduleInfo.expiration.type", "must be AfterDuration, AfterDateTime or NoExpiration, got %q", clip(si.Expiration.Type))
			}
			sub.Schedule.ExpirationType = et
		}
		if d := si.Expiration.Duration; d != nil && *d != "" {
			dur, err := domain.ParseISODuration(*d)
			if err != nil {
				return engine.Submission{}, domain.Invalid("properties.scheduleInfo.expiration.duration", "%v", err)
			}
			sub.Schedule.Duration = dur
		}
		if e := si.Expiration.EndDateTime; e != nil && *e != "" {
			t, err := parseTime("properties.scheduleInfo.expiration.endDateTime", *e)
			if err != nil {
				return engine.Submission{}, err
			}
			sub.Schedule.End = t
		}
	}
	return sub, nil
}

func armTime(t time.Time) *string { return timeJSON(t) }

// armEnum turns jitpim's Graph spelling (selfActivate, afterDuration)
// into ARM's (SelfActivate, AfterDuration).
func armEnum(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func armRequest(r domain.Request, collection string) armResource {
	start, end := r.StartAt, r.EndAt
	if start.IsZero() {
		start, end = r.Schedule.Window(r.CreatedAt)
	}
	si := &armScheduleInfo{StartDateTime: armTime(start), Expiration: armExpiration{Type: armEnum(string(r.Schedule.ExpirationType)), EndDateTime: armTime(end)}}
	if si.Expiration.Type == "" {
		si.Expiration.Type = "NoExpiration"
	}
	if r.Schedule.ExpirationType == domain.ExpireAfterDuration {
		d := domain.FormatISODuration(r.Schedule.Duration)
		si.Expiration.Duration = &d
	}
	props := armRequestProps{
		Scope: r.Target.ResourceScope, RoleDefinitionID: armRoleDefinitionRef(r.Target.ResourceScope, r.Target.RoleDefinitionID),
		PrincipalID: string(r.PrincipalID), PrincipalType: "User", RequestType: armEnum(string(r.Action)), Status: string(r.Status),
		ScheduleInfo: si, Justification: strPtr(r.Justification), CreatedOn: armTime(r.CreatedAt), RequestorID: string(r.CreatedBy),
		LinkedRoleEligibilityScheduleID: strPtr(r.EligibilityScheduleID), TargetScheduleID: strPtr(r.TargetScheduleID),
	}
	if r.Ticket.Number != "" || r.Ticket.System != "" {
		props.TicketInfo = &armTicketInfo{TicketNumber: strPtr(r.Ticket.Number), TicketSystem: strPtr(r.Ticket.System)}
	}
	if r.Approval != nil {
		props.ApprovalID = strPtr("/providers/Microsoft.Authorization/roleAssignmentApprovals/" + r.ID)
	}
	return armResource{ID: r.Target.ResourceScope + "/providers/Microsoft.Authorization/" + collection + "/" + r.ID, Name: r.ID,
		Type: "Microsoft.Authorization/" + armEnum(collection), Properties: props}
}

// armFilter reads ARM's list filters: asRequestor() / asTarget() (the
// caller's own), principalId eq '{id}', atScope(), asApprover().
type armFilter struct {
	principal domain.ObjectID
	atScope   bool
	approver  bool
}

func parseARMFilter(c *engine.Call, f string) (armFilter, error) {
	f = strings.TrimSpace(f)
	low := strings.ToLower(f)
	switch {
	case f == "":
		return armFilter{}, nil
	case low == "asrequestor()" || low == "astarget()":
		return armFilter{principal: c.Caller.ID}, nil
	case low == "atscope()":
		return armFilter{atScope: true}, nil
	case low == "asapprover()":
		return armFilter{approver: true}, nil
	case strings.HasPrefix(low, "principalid eq "):
		id, err := domain.ParseObjectID("$filter principalId", strings.Trim(strings.TrimSpace(f[len("principalid eq "):]), "'"))
		return armFilter{principal: id}, err
	}
	return armFilter{}, domain.Invalid("$filter", "jitpim serves asRequestor(), asTarget(), asApprover(), atScope() and principalId eq '{id}', got %q", clip(f))
}

// matches applies the scope part of a filter: at or below the scope, or
// with atScope() at it or above.
func (f armFilter) matches(t domain.Target, scope string) bool {
	if t.Kind != domain.TargetAzureRole {
		return false
	}
	if f.atScope {
		return domain.AzureScopeCovers(t.ResourceScope, scope)
	}
	return domain.AzureScopeCovers(scope, t.ResourceScope)
}

// armListLimit bounds one listing; ARM lists per scope, and a listing
// cut short says so rather than pretending to be whole.
const armListLimit = 2000

func (s *Server) armListRequests(ctx context.Context, c *engine.Call, r *http.Request, p armPath, kind domain.RequestKind) (int, any, error) {
	f, err := parseARMFilter(c, r.URL.Query().Get("$filter"))
	if err != nil {
		return 0, nil, err
	}
	out := armList{Value: []armResource{}}
	if f.approver {
		reqs, err := s.eng.PendingApprovals(ctx, c, kind)
		if err != nil {
			return 0, nil, err
		}
		for _, x := range reqs {
			if f.matches(x.Target, p.scope) {
				out.Value = append(out.Value, armRequest(x, p.collection))
			}
		}
		return http.StatusOK, out, nil
	}
	q := domain.RequestQuery{Kind: kind, PrincipalID: f.principal, Limit: 500}
	for {
		page, err := s.eng.ListRequests(ctx, c, q)
		if err != nil {
			return 0, nil, err
		}
		for _, x := range page.Items {
			if f.matches(x.Target, p.scope) {
				out.Value = append(out.Value, armRequest(x, p.collection))
			}
		}
		if page.Next == "" {
			return http.StatusOK, out, nil
		}
		if len(out.Value) >= armListLimit {
			return 0, nil, domain.Invalid("$filter", "more than %d requests match: narrow the list with principalId eq '{id}' or a smaller scope", armListLimit)
		}
		q.Cursor = page.Next
	}
}

func (s *Server) armSchedules(ctx context.Context, c *engine.Call, r *http.Request, p armPath, kind domain.RequestKind, instances bool) (int, any, error) {
	f, err := parseARMFilter(c, r.URL.Query().Get("$filter"))
	if err != nil {
		return 0, nil, err
	}
	if f.approver {
		return 0, nil, domain.Invalid("$filter", "asApprover() applies to requests")
	}
	principal := f.principal
	if p.name != "" && principal == "" {
		principal = c.Caller.ID // one schedule by name: the caller's own, or an admin's look at all
		if ok, err := s.eng.IsAdmin(ctx, c); err != nil {
			return 0, nil, err
		} else if ok {
			principal = ""
		}
	}
	sf := engine.ScheduleFilter{Kind: kind, TargetKind: domain.TargetAzureRole, PrincipalID: principal, InstancesOnly: instances, Limit: 500,
		Match: func(t domain.Target) bool { return f.matches(t, p.scope) }}
	out := armList{Value: []armResource{}}
	for {
		page, err := s.eng.ListSchedules(ctx, c, sf)
		if err != nil {
			return 0, nil, err
		}
		for _, x := range page.Items {
			res := armSchedule(x, p.collection, instances)
			if p.name != "" && res.Name == p.name {
				return http.StatusOK, res, nil
			}
			out.Value = append(out.Value, res)
		}
		if page.Next == "" {
			break
		}
		if len(out.Value) >= armListLimit {
			return 0, nil, domain.Invalid("$filter", "more than %d schedules match: narrow the list with asTarget() or a smaller scope", armListLimit)
		}
		sf.Cursor = page.Next
	}
	if p.name != "" {
		return 0, nil, domain.Errorf(domain.CodeNotFound, "%s %s does not exist at %s", p.collection, p.name, p.scope)
	}
	return http.StatusOK, out, nil
}

func armSchedule(sc domain.Schedule, collection string, instance bool) armResource {
	props := armScheduleProps{
		Scope: sc.Target.ResourceScope, RoleDefinitionID: armRoleDefinitionRef(sc.Target.ResourceScope, sc.Target.RoleDefinitionID),
		PrincipalID: string(sc.PrincipalID), PrincipalType: "User", AssignmentType: sc.AssignmentType, MemberType: sc.MemberType,
		Status: "Provisioned", StartDateTime: armTime(sc.Start), EndDateTime: armTime(sc.End), CreatedOn: armTime(sc.CreatedAt),
		LinkedEligibilityID: sc.EligibilityScheduleID,
	}
	if sc.Kind == domain.KindEligibility {
		props.AssignmentType = ""
	}
	if instance && sc.Kind == domain.KindAssignment {
		props.RoleAssignmentScheduleID = sc.ID
	}
	if instance && sc.Kind == domain.KindEligibility {
		props.RoleEligibilityScheduleID = sc.ID
	}
	if !instance && sc.Kind == domain.KindAssignment {
		props.RoleAssignmentRequestID = sc.CreatedUsing
	}
	return armResource{ID: sc.Target.ResourceScope + "/providers/Microsoft.Authorization/" + collection + "/" + sc.ID, Name: sc.ID,
		Type: "Microsoft.Authorization/" + armEnum(collection), Properties: props}
}

// armApprovalStage is a stage of Azure's roleAssignmentApprovals resource.
type armApprovalStage struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		DisplayName    string  `json:"displayName,omitempty"`
		Status         string  `json:"status"`
		AssignedToMe   bool    `json:"assignedToMe"`
		ReviewResult   string  `json:"reviewResult"`
		Justification  *string `json:"justification,omitempty"`
		ReviewedBy     *string `json:"reviewedBy,omitempty"`
		ReviewedDateTm *string `json:"reviewedDateTime,omitempty"`
	} `json:"properties"`
}

// armApproval serves GET roleAssignmentApprovals/{id} and PUT
// roleAssignmentApprovals/{id}/stages/{stageId} ({properties: {reviewResult,
// justification}}), as Azure's REST API does for Azure resource roles.
func (s *Server) armApproval(ctx context.Context, c *engine.Call, r *http.Request, p armPath) (int, any, error) {
	if p.name == "" {
		return 0, nil, domain.Errorf(domain.CodeNotFound, "name the approval: /providers/Microsoft.Authorization/roleAssignmentApprovals/{id}")
	}
	// Only Azure requests' approvals are served here, before anything is decided.
	if req, err := s.eng.GetApproval(ctx, c, p.name); err != nil || req.Target.Kind != domain.TargetAzureRole {
		return 0, nil, domain.Errorf(domain.CodeNotFound, "approval %s does not exist", p.name)
	}
	switch {
	case p.action == "" && r.Method == http.MethodGet:
	case p.action == "stages" && p.stage != "" && r.Method == http.MethodPut:
		var env struct {
			Properties struct {
				ReviewResult  string `json:"reviewResult"`
				Justification string `json:"justification"`
			} `json:"properties"`
		}
		if err := readBody(r, []string{"properties", "id", "name", "type"}, &env); err != nil {
			return 0, nil, err
		}
		if _, err := s.eng.Decide(ctx, c, p.name, engine.Decision{StageID: p.stage, Result: env.Properties.ReviewResult,
			Justification: env.Properties.Justification}); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, domain.Errorf(domain.CodeNotFound, "%s is not served on %s", r.Method, r.URL.Path)
	}
	req, err := s.eng.GetApproval(ctx, c, p.name)
	if err != nil || req.Target.Kind != domain.TargetAzureRole {
		return 0, nil, domain.Errorf(domain.CodeNotFound, "approval %s does not exist", p.name)
	}
	base := "/providers/Microsoft.Authorization/roleAssignmentApprovals/" + req.ID
	stages := []armApprovalStage{}
	for i, st := range req.Approval.Stages {
		var o armApprovalStage
		o.ID, o.Name, o.Type = base+"/stages/"+st.ID, st.ID, "Microsoft.Authorization/roleAssignmentApprovals/stages"
		o.Properties.DisplayName = "Stage " + string(rune('1'+i))
		o.Properties.Status, o.Properties.ReviewResult = st.Status, st.ReviewResult
		if o.Properties.ReviewResult == "" {
			o.Properties.ReviewResult = "NotReviewed"
		}
		if st.Status == domain.StageInProgress || st.Status == domain.StageEscalated {
			mine, _ := s.eng.IsApprover(ctx, c, st)
			o.Properties.AssignedToMe = mine && c.Caller.ID != req.PrincipalID
		}
		o.Properties.Justification = strPtr(st.Justification)
		o.Properties.ReviewedBy = strPtr(string(st.ReviewedBy))
		o.Properties.ReviewedDateTm = armTime(st.ReviewedAt)
		stages = append(stages, o)
	}
	return http.StatusOK, armResource{ID: base, Name: req.ID, Type: "Microsoft.Authorization/roleAssignmentApprovals",
		Properties: map[string]any{"stages": stages}}, nil
}
