package engine_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// fakeTickets is a ticket system: tickets by number and the notes written.
type fakeTickets struct {
	mu      sync.Mutex
	tickets map[string]domain.TicketCheck
	notes   map[string][]string
}

func (f *fakeTickets) CheckTicket(ctx context.Context, t domain.TicketInfo, start, end time.Time) (domain.TicketCheck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tk, ok := f.tickets[t.Number]
	if !ok {
		return tk, domain.Errorf(domain.CodeNotFound, "ticket %s does not exist", t.Number)
	}
	if tk.State == "6" {
		return tk, domain.Errorf(domain.CodeForbidden, "ticket %s is Resolved", t.Number)
	}
	return tk, nil
}

func (f *fakeTickets) AddNote(ctx context.Context, t domain.TicketCheck, note string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notes[t.Number] = append(f.notes[t.Number], note)
	return nil
}

func (f *fakeTickets) notesOf(n string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.notes[n], "\n")
}

func ticketFixture(t *testing.T) (*fixture, *fakeTickets, *fakeMailer, domain.ObjectID) {
	tk := &fakeTickets{tickets: map[string]domain.TicketCheck{}, notes: map[string][]string{}}
	m := &fakeMailer{}
	f := newFixture(t, func(c *engine.Config) {
		c.Tickets, c.Mailer = tk, m
		c.ApprovalLink = func(req, stage string, who domain.ObjectID, exp time.Time) (string, error) {
			return "https://jitpim.example/api/approvals/" + req + "/" + stage + "/" + string(who), nil
		}
	})
	adam := f.newUser()
	tk.tickets["INC0012345"] = domain.TicketCheck{System: "ServiceNow", Table: "incident", Number: "INC0012345", SysID: "a1", State: "2",
		Requesters: []string{addr(adam)}}
	tk.tickets["INC0012300"] = domain.TicketCheck{System: "ServiceNow", Table: "incident", Number: "INC0012300", SysID: "a2", State: "6",
		Requesters: []string{addr(adam)}}
	return f, tk, m, adam
}

func (f *fixture) noMFAPolicy(t domain.Target) {
	f.setPolicy(domain.PolicyID(t), func(p *domain.Policy) { p.Activation.RequireMFA = false })
}

func ticketReq(user domain.ObjectID, t domain.Target, number, sysID string) engine.TicketRequest {
	return engine.TicketRequest{Number: number, SysID: sysID, Table: "incident", Activate: true, Requester: addr(user), Target: t,
		Duration: time.Hour, Justification: "mailbox outage"}
}

func TestValidatedTicketOnTheAPI(t *testing.T) {
	f, tk, _, adam := ticketFixture(t)
	bob := f.newUser()
	f.setPolicy(domain.PolicyID(roleOther), func(p *domain.Policy) {
		p.Activation.RequireTicket, p.Activation.ValidateTicket = true, true
	})
	f.makeEligible(adam, roleOther)
	f.makeEligible(bob, roleOther)
	sub := activationSub(bob, roleOther, time.Hour)
	sub.Ticket = domain.TicketInfo{Number: "INC0012345", System: "ServiceNow"}
	before := f.snapshot()
	_, err := f.submit(bob, sub) // Adam's ticket, Bob asks
	wantCode(t, err, domain.CodeForbidden)
	wantContains(t, err, "does not name")
	f.assertNoWrites(t, before)
	sub.PrincipalID = adam
	sub.Ticket.Number = "INC0012300"
	_, err = f.submit(adam, sub)
	wantCode(t, err, domain.CodeForbidden)
	wantContains(t, err, "Resolved")
	sub.Ticket.Number = "INC9999999"
	_, err = f.submit(adam, sub)
	wantCode(t, err, domain.CodeNotFound)
	sub.Ticket = domain.TicketInfo{}
	_, err = f.submit(adam, sub)
	wantCode(t, err, domain.CodeInvalid)
	sub.Ticket = domain.TicketInfo{Number: "INC0012345"}
	r, err := f.submit(adam, sub)
	if err != nil || r.Status != domain.StatusProvisioned || !r.Ticket.Validated || r.Ticket.SysID != "a1" {
		t.Fatalf("validated activation: %+v %v", r.Ticket, err)
	}
	if !strings.Contains(tk.notesOf("INC0012345"), "granted") {
		t.Fatalf("no work note: %q", tk.notesOf("INC0012345"))
	}
}

func TestValidationWithoutTicketSystemDenies(t *testing.T) {
	f := newFixture(t)
	alice := f.newUser()
	f.setPolicy(domain.PolicyID(roleOther), func(p *domain.Policy) { p.Activation.RequireTicket, p.Activation.ValidateTicket = true, true })
	f.makeEligible(alice, roleOther)
	sub := activationSub(alice, roleOther, time.Hour)
	sub.Ticket = domain.TicketInfo{Number: "INC0012345"}
	_, err := f.submit(alice, sub)
	wantCode(t, err, domain.CodeForbidden)
	wantContains(t, err, "no ticket system")
}

func TestTicketActivationWithoutMFAPolicy(t *testing.T) {
	f, tk, _, adam := ticketFixture(t)
	f.noMFAPolicy(roleOther)
	f.makeEligible(adam, roleOther)
	r, err := f.eng.SubmitTicket(f.ctx, f.system(), ticketReq(adam, roleOther, "INC0012345", "a1"))
	if err != nil || r.Status != domain.StatusProvisioned || !f.hasRole(adam, roleOther) {
		t.Fatalf("ticket activation: %v %v", r.Status, err)
	}
	again, err := f.eng.SubmitTicket(f.ctx, f.system(), ticketReq(adam, roleOther, "INC0012345", "a1"))
	if err != nil || again.ID != r.ID {
		t.Fatalf("a retried webhook made another request: %s vs %s (%v)", again.ID, r.ID, err)
	}
	if n := f.dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment %d times", n)
	}
	de := ticketReq(adam, roleOther, "INC0012345", "a1")
	de.Activate = false
	if r, err := f.eng.SubmitTicket(f.ctx, f.system(), de); err != nil || r.Status != domain.StatusRevoked || f.hasRole(adam, roleOther) {
		t.Fatalf("ticket deactivation: %v %v", r.Status, err)
	}
	notes := tk.notesOf("INC0012345")
	if !strings.Contains(notes, "granted") || !strings.Contains(notes, "deactivated") {
		t.Fatalf("notes: %q", notes)
	}
}

func TestTicketActivationWaitsForRequesterMFA(t *testing.T) {
	f, tk, m, adam := ticketFixture(t)
	bob := f.newUser()
	f.makeEligible(adam, roleOther)
	r, err := f.eng.SubmitTicket(f.ctx, f.system(), ticketReq(adam, roleOther, "INC0012345", "a1"))
	if err != nil || r.Status != domain.StatusPendingApproval || f.hasRole(adam, roleOther) {
		t.Fatalf("request: %v %v", r.Status, err)
	}
	if !strings.Contains(tk.notesOf("INC0012345"), "confirm with multi-factor") {
		t.Fatalf("notes: %q", tk.notesOf("INC0012345"))
	}
	f.eng.FlushMail(f.ctx, f.system())
	f.sweep()
	if n := m.about(addr(adam), "Confirm your activation"); n != 1 {
		t.Fatalf("%d confirmation mails", n)
	}
	confirm := engine.Decision{StageID: "confirm", Result: "Approve"}
	_, err = f.eng.Decide(f.ctx, f.call(bob), r.ID, confirm)
	wantCode(t, err, domain.CodeForbidden)
	_, err = f.eng.Decide(f.ctx, f.callAuth(adam, domain.AuthEvidence{AuthenticatedAt: f.now}), r.ID, confirm)
	wantCode(t, err, domain.CodeForbidden)
	wantContains(t, err, "multi-factor")
	stale := domain.AuthEvidence{MFA: true, AuthenticatedAt: f.now.Add(-time.Hour)}
	_, err = f.eng.Decide(f.ctx, f.callAuth(adam, stale), r.ID, confirm)
	wantContains(t, err, "older than")
	got, err := f.eng.Decide(f.ctx, f.call(adam), r.ID, confirm)
	if err != nil || got.Status != domain.StatusProvisioned || !f.hasRole(adam, roleOther) {
		t.Fatalf("confirmed: %v %v", got.Status, err)
	}
}

func TestTicketActivationConfirmationThenApproval(t *testing.T) {
	f, _, _, adam := ticketFixture(t)
	carol := f.newUser()
	f.requireApproval(roleOther, userApprover(carol))
	f.makeEligible(adam, roleOther)
	r, err := f.eng.SubmitTicket(f.ctx, f.system(), ticketReq(adam, roleOther, "INC0012345", "a1"))
	if err != nil || len(r.Approval.Stages) != 2 {
		t.Fatalf("stages: %+v %v", r.Approval, err)
	}
	// The approver cannot skip the requester's confirmation.
	_, err = f.eng.Decide(f.ctx, f.call(carol), r.ID, engine.Decision{StageID: "stage-1", Result: "Approve"})
	wantCode(t, err, domain.CodeConflict)
	if got, err := f.eng.Decide(f.ctx, f.call(adam), r.ID, engine.Decision{StageID: "confirm", Result: "Approve"}); err != nil || got.Status != domain.StatusPendingApproval {
		t.Fatalf("after confirmation: %v %v", got.Status, err)
	}
	if got, err := f.eng.Decide(f.ctx, f.call(carol), r.ID, engine.Decision{StageID: "stage-1", Result: "Approve"}); err != nil || got.Status != domain.StatusProvisioned {
		t.Fatalf("after approval: %v %v", got.Status, err)
	}
}

func TestTicketRefusalsAreNoted(t *testing.T) {
	f, tk, _, adam := ticketFixture(t)
	f.noMFAPolicy(roleOther)
	stranger := ticketReq(adam, roleOther, "INC0012345", "a1")
	stranger.Requester = "nobody@contoso.example"
	_, err := f.eng.SubmitTicket(f.ctx, f.system(), stranger)
	wantCode(t, err, domain.CodeNotFound)
	_, err = f.eng.SubmitTicket(f.ctx, f.system(), ticketReq(adam, roleOther, "INC0012345", "a1")) // not eligible
	wantCode(t, err, domain.CodeForbidden)
	bg := ticketReq(adam, roleOther, "INC0012345", "a1")
	bg.Requester = addr(f.breakGlass)
	_, err = f.eng.SubmitTicket(f.ctx, f.system(), bg)
	wantCode(t, err, domain.CodeForbidden)
	notes := tk.notesOf("INC0012345")
	if strings.Count(notes, "refused") != 3 || !strings.Contains(notes, "not an account") || !strings.Contains(notes, "break-glass") {
		t.Fatalf("notes: %q", notes)
	}
	if len(f.requestsOf(adam)) != 0 {
		t.Fatal("a refused ticket request was stored")
	}
}
