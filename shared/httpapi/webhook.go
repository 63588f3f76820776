package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/servicenow"
)

// Webhook receives ServiceNow's access requests: POST
// /api/servicenow/webhook, signed with HMAC-SHA256 over the raw body (or
// basic auth). Nothing is read or written before the caller is verified.
type Webhook struct {
	auth servicenow.WebhookAuth
	eng  *engine.Engine
	now  func() time.Time
	log  *slog.Logger
}

// NewWebhook builds the handler.
func NewWebhook(auth servicenow.WebhookAuth, eng *engine.Engine, now func() time.Time, log *slog.Logger) *Webhook {
	return &Webhook{auth: auth, eng: eng, now: now, log: log}
}

// WebhookAnswer is what ServiceNow gets back.
type WebhookAnswer struct {
	RequestID    string `json:"requestId"`
	Status       string `json:"status"`
	StatusReason string `json:"statusReason,omitempty"`
	ApprovalID   string `json:"approvalId,omitempty"`
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	inv := r.Header.Get(InvocationHeader)
	if inv == "" {
		inv = uuid.NewString()
	}
	w.Header().Set("request-id", inv)
	log := h.log.With("invocation_id", inv, "function", "servicenow")
	if r.Method != http.MethodPost || r.URL.Path != "/api/servicenow/webhook" {
		writeError(w, domain.Errorf(domain.CodeNotFound, "no resource at %s %s", r.Method, r.URL.Path))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, servicenow.MaxWebhookBytes+1))
	if err != nil {
		writeError(w, domain.Wrap(domain.CodeInvalid, err, "could not read the body"))
		return
	}
	if err := h.auth.Verify(r.Header, body, now); err != nil {
		log.Warn("webhook refused", "error", err)
		writeError(w, err)
		return
	}
	hook, err := servicenow.ParseWebhook(body)
	if err != nil {
		writeError(w, err)
		return
	}
	target := domain.RoleTarget(hook.RoleDefinitionID, hook.DirectoryScopeID)
	if hook.GroupID != "" {
		target = domain.GroupTarget(hook.GroupID, hook.AccessID)
	}
	c := engine.NewCall(now, inv, engine.Caller{ID: engine.SystemActor, Name: "ServiceNow"}, log.With("ticket", hook.Number))
	req, err := h.eng.SubmitTicket(r.Context(), c, engine.TicketRequest{Number: hook.Number, SysID: hook.SysID, Table: hook.Table,
		Activate: hook.Action != servicenow.ActionDeactivate, Requester: hook.Requester, Target: target, Duration: hook.Duration,
		Justification: hook.Justification})
	h.eng.FlushMail(r.Context(), c)
	if err != nil {
		log.Info("ticket request refused", "error", err)
		writeError(w, err)
		return
	}
	ans := WebhookAnswer{RequestID: req.ID, Status: string(req.Status), StatusReason: req.StatusReason}
	if req.Approval != nil {
		ans.ApprovalID = req.ID
	}
	log.Info("ticket request", "request_id", req.ID, "status", req.Status)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(ans)
}
