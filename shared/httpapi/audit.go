package httpapi

import (
	"context"
	"net/http"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/wire"
)

type auditOut struct {
	ID                  string           `json:"id"`
	Category            string           `json:"category"`
	CorrelationID       string           `json:"correlationId"`
	Result              string           `json:"result"`
	ResultReason        string           `json:"resultReason"`
	ActivityDisplayName string           `json:"activityDisplayName"`
	ActivityDateTime    *string          `json:"activityDateTime"`
	LoggedByService     string           `json:"loggedByService"`
	OperationType       string           `json:"operationType"`
	InitiatedBy         wire.IdentitySet `json:"initiatedBy"`
	TargetResources     []targetResource `json:"targetResources"`
	AdditionalDetails   []keyValue       `json:"additionalDetails"`
}

type targetResource struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	DisplayName string `json:"displayName,omitempty"`
}

type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// AuditJSON writes a record in Graph's directoryAudit shape; the chain
// hashes travel as additional details.
func AuditJSON(a domain.AuditRecord) auditOut {
	out := auditOut{ID: a.ID, Category: a.Category, CorrelationID: a.RequestID, Result: a.Outcome, ResultReason: a.Reason,
		ActivityDisplayName: a.Action, ActivityDateTime: timeJSON(a.Time), LoggedByService: "jitpim", OperationType: a.Action,
		InitiatedBy: actorSet(a.ActorID), TargetResources: []targetResource{}, AdditionalDetails: []keyValue{}}
	if a.PrincipalID != "" {
		out.TargetResources = append(out.TargetResources, targetResource{ID: string(a.PrincipalID), Type: "User"})
	}
	switch a.Target.Kind {
	case domain.TargetRole:
		out.TargetResources = append(out.TargetResources, targetResource{ID: string(a.Target.RoleDefinitionID), Type: "Role", DisplayName: a.Target.DirectoryScopeID})
	case domain.TargetGroup:
		out.TargetResources = append(out.TargetResources, targetResource{ID: string(a.Target.GroupID), Type: "Group", DisplayName: a.Target.AccessID})
	}
	for _, k := range sortedKeys(a.Details) {
		out.AdditionalDetails = append(out.AdditionalDetails, keyValue{Key: k, Value: a.Details[k]})
	}
	out.AdditionalDetails = append(out.AdditionalDetails, keyValue{"invocationId", a.InvocationID}, keyValue{"prevHash", a.PrevHash}, keyValue{"hash", a.Hash})
	return out
}

func (s *Server) listAudit(ctx context.Context, c *engine.Call, r *http.Request) (int, any, error) {
	cursor, limit, err := paging(r)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.eng.ListAudit(ctx, c, domain.AuditQuery{Cursor: cursor, Limit: limit})
	if err != nil {
		return 0, nil, err
	}
	out := make([]auditOut, 0, len(p.Items))
	for _, a := range p.Items {
		out = append(out, AuditJSON(a))
	}
	return http.StatusOK, collection{Value: out, NextLink: nextLink(r, p.Next)}, nil
}
