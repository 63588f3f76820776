package servicenow

import (
	"context"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// TicketSystem adapts the client and the rules to jitpim's domain port:
// the engine asks it to confirm a ticket and to write work notes.
type TicketSystem struct {
	Client *Client
	Rules  Rules
}

var _ domain.TicketSystem = TicketSystem{}

// TableFor picks the table from a ticket number's prefix, as ServiceNow
// numbers them: INC incidents, CHG change requests, RITM requested items.
func TableFor(number string) (string, bool) {
	n := strings.ToUpper(number)
	switch {
	case strings.HasPrefix(n, "INC"):
		return TableIncident, true
	case strings.HasPrefix(n, "CHG"):
		return TableChangeRequest, true
	case strings.HasPrefix(n, "RITM"):
		return TableRequestedItem, true
	}
	return "", false
}

// CheckTicket implements domain.TicketSystem.
func (s TicketSystem) CheckTicket(ctx context.Context, t domain.TicketInfo, start, end time.Time) (domain.TicketCheck, error) {
	table, ok := TableFor(t.Number)
	if !ok {
		return domain.TicketCheck{}, domain.Invalid("ticketInfo.ticketNumber", "%q is not a ServiceNow incident (INC), change (CHG) or requested item (RITM) number", t.Number)
	}
	tk, err := s.Client.GetTicket(ctx, table, t.Number)
	if err != nil {
		return domain.TicketCheck{}, err
	}
	refs, err := s.Rules.Check(tk, start, end)
	if err != nil {
		return domain.TicketCheck{}, err
	}
	out := domain.TicketCheck{System: "ServiceNow", Table: tk.Table, Number: tk.Number, SysID: tk.SysID, State: tk.State}
	for _, r := range refs {
		for _, name := range []string{r.UserName, r.Email} {
			if name != "" {
				out.Requesters = append(out.Requesters, name)
			}
		}
	}
	return out, nil
}

// AddNote implements domain.TicketSystem.
func (s TicketSystem) AddNote(ctx context.Context, t domain.TicketCheck, note string) error {
	return s.Client.AddWorkNote(ctx, t.Table, t.SysID, note)
}
