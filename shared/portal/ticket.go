package portal

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/httpapi"
)

// ticketAnswer is what the ticket check tells the activation form's script.
type ticketAnswer struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// ticketCheck serves GET /portal/ticket?target=&duration=&number=: the
// activation's own ticket rule (engine.CheckActivationTicket) applied to
// what the requester typed, answered in words. It changes nothing; the
// form is checked again on submit, and works without it.
func (p *Portal) ticketCheck(v *visit) {
	q := v.r.URL.Query()
	answer := func(status int, a ticketAnswer) {
		v.w.Header().Set("Content-Type", "application/json; charset=utf-8")
		v.w.WriteHeader(status)
		_ = json.NewEncoder(v.w).Encode(a)
	}
	t, err := domain.ParseTargetKey(q.Get("target"))
	if err != nil {
		answer(http.StatusBadRequest, ticketAnswer{Message: "target: is not a role or group this portal offers"})
		return
	}
	d, err := domain.ParseISODuration(q.Get("duration"))
	if err != nil || d <= 0 {
		d = time.Hour
	}
	number := strings.TrimSpace(q.Get("number"))
	got, err := p.eng.CheckActivationTicket(v.r.Context(), v.call, t, number, d)
	switch {
	case err != nil && httpapi.StatusOf(err) >= http.StatusInternalServerError:
		v.call.Log.Error("checking a ticket failed", "error", err)
		answer(http.StatusOK, ticketAnswer{Message: "The ticket could not be checked now; it is checked again when you activate."})
	case err != nil:
		answer(http.StatusOK, ticketAnswer{Message: messageOf(err)})
	case number == "":
		answer(http.StatusOK, ticketAnswer{OK: true})
	case got.Validated:
		answer(http.StatusOK, ticketAnswer{OK: true, Message: got.Number + " is valid in " + got.System + "."})
	default:
		answer(http.StatusOK, ticketAnswer{OK: true, Message: got.Number + " is recorded as you typed it; this role does not need it validated."})
	}
}
