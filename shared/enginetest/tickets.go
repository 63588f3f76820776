package enginetest

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

func ticketFixture(t *testing.T, su suite) (*Fixture, *fakeTickets, *fakeMailer, domain.ObjectID) {
	tk := &fakeTickets{tickets: map[string]domain.TicketCheck{}, notes: map[string][]string{}}
	m := &fakeMailer{}
	f := su.fixture(t, func(s *Setup) {
		s.Tickets, s.Mailer, s.Links = tk, m, fakeLinks{sep: "/"}
	})
	adam := f.NewUser()
	tk.tickets["INC0012345"] = domain.TicketCheck{System: "ServiceNow", Table: "incident", Number: "INC0012345", SysID: "a1", State: "2",
		Requesters: []string{UPN(adam)}}
	tk.tickets["INC0012300"] = domain.TicketCheck{System: "ServiceNow", Table: "incident", Number: "INC0012300", SysID: "a2", State: "6",
		Requesters: []string{UPN(adam)}}
	return f, tk, m, adam
}

func (f *Fixture) noMFAPolicy(t domain.Target) {
	f.SetPolicy(domain.PolicyID(t), func(p *domain.Policy) { p.Activation.RequireMFA = false })
}

func ticketReq(user domain.ObjectID, t domain.Target, number, sysID string) engine.TicketRequest {
	return engine.TicketRequest{Number: number, SysID: sysID, Table: "incident", Activate: true, Requester: UPN(user), Target: t,
		Duration: time.Hour, Justification: "mailbox outage"}
}

func testValidatedTicketOnTheAPI(t *testing.T, su suite) {
	f, tk, _, adam := ticketFixture(t, su)
	bob := f.NewUser()
	f.SetPolicy(domain.PolicyID(RoleOther), func(p *domain.Policy) {
		p.Activation.RequireTicket, p.Activation.ValidateTicket = true, true
	})
	f.MakeEligible(adam, RoleOther)
	f.MakeEligible(bob, RoleOther)
	sub := ActivationSub(bob, RoleOther, time.Hour)
	sub.Ticket = domain.TicketInfo{Number: "INC0012345", System: "ServiceNow"}
	before := f.Snapshot()
	_, err := f.Submit(bob, sub) // Adam's ticket, Bob asks
	WantCode(t, err, domain.CodeForbidden)
	WantContains(t, err, "does not name")
	f.AssertNoWrites(t, before)
	sub.PrincipalID = adam
	sub.Ticket.Number = "INC0012300"
	_, err = f.Submit(adam, sub)
	WantCode(t, err, domain.CodeForbidden)
	WantContains(t, err, "Resolved")
	sub.Ticket.Number = "INC9999999"
	_, err = f.Submit(adam, sub)
	WantCode(t, err, domain.CodeNotFound)
	sub.Ticket = domain.TicketInfo{}
	_, err = f.Submit(adam, sub)
	WantCode(t, err, domain.CodeInvalid)
	sub.Ticket = domain.TicketInfo{Number: "INC0012345"}
	r, err := f.Submit(adam, sub)
	if err != nil || r.Status != domain.StatusProvisioned || !r.Ticket.Validated || r.Ticket.SysID != "a1" {
		t.Fatalf("validated activation: %+v %v", r.Ticket, err)
	}
	if !strings.Contains(tk.notesOf("INC0012345"), "granted") {
		t.Fatalf("no work note: %q", tk.notesOf("INC0012345"))
	}
}

func testValidationWithoutTicketSystemDenies(t *testing.T, su suite) {
	f := su.fixture(t)
	alice := f.NewUser()
	f.SetPolicy(domain.PolicyID(RoleOther), func(p *domain.Policy) { p.Activation.RequireTicket, p.Activation.ValidateTicket = true, true })
	f.MakeEligible(alice, RoleOther)
	sub := ActivationSub(alice, RoleOther, time.Hour)
	sub.Ticket = domain.TicketInfo{Number: "INC0012345"}
	_, err := f.Submit(alice, sub)
	WantCode(t, err, domain.CodeForbidden)
	WantContains(t, err, "no ticket system")
}

func testTicketActivationWithoutMFAPolicy(t *testing.T, su suite) {
	f, tk, _, adam := ticketFixture(t, su)
	f.noMFAPolicy(RoleOther)
	f.MakeEligible(adam, RoleOther)
	r, err := f.Eng.SubmitTicket(f.Ctx, f.System(), ticketReq(adam, RoleOther, "INC0012345", "a1"))
	if err != nil || r.Status != domain.StatusProvisioned || !f.HasRole(adam, RoleOther) {
		t.Fatalf("ticket activation: %v %v", r.Status, err)
	}
	again, err := f.Eng.SubmitTicket(f.Ctx, f.System(), ticketReq(adam, RoleOther, "INC0012345", "a1"))
	if err != nil || again.ID != r.ID {
		t.Fatalf("a retried webhook made another request: %s vs %s (%v)", again.ID, r.ID, err)
	}
	if n := f.Dir.Calls()["AddRoleAssignment"]; n != 1 {
		t.Fatalf("AddRoleAssignment %d times", n)
	}
	de := ticketReq(adam, RoleOther, "INC0012345", "a1")
	de.Activate = false
	if r, err := f.Eng.SubmitTicket(f.Ctx, f.System(), de); err != nil || r.Status != domain.StatusRevoked || f.HasRole(adam, RoleOther) {
		t.Fatalf("ticket deactivation: %v %v", r.Status, err)
	}
	notes := tk.notesOf("INC0012345")
	if !strings.Contains(notes, "granted") || !strings.Contains(notes, "deactivated") {
		t.Fatalf("notes: %q", notes)
	}
}

func testTicketActivationWaitsForRequesterMFA(t *testing.T, su suite) {
	f, tk, m, adam := ticketFixture(t, su)
	bob := f.NewUser()
	f.MakeEligible(adam, RoleOther)
	r, err := f.Eng.SubmitTicket(f.Ctx, f.System(), ticketReq(adam, RoleOther, "INC0012345", "a1"))
	if err != nil || r.Status != domain.StatusPendingApproval || f.HasRole(adam, RoleOther) {
		t.Fatalf("request: %v %v", r.Status, err)
	}
	if !strings.Contains(tk.notesOf("INC0012345"), "confirm with multi-factor") {
		t.Fatalf("notes: %q", tk.notesOf("INC0012345"))
	}
	f.Eng.FlushMail(f.Ctx, f.System())
	f.Sweep()
	if n := m.about(UPN(adam), "Confirm your activation"); n != 1 {
		t.Fatalf("%d confirmation mails", n)
	}
	confirm := engine.Decision{StageID: "confirm", Result: "Approve"}
	_, err = f.Eng.Decide(f.Ctx, f.Call(bob), r.ID, confirm)
	WantCode(t, err, domain.CodeForbidden)
	_, err = f.Eng.Decide(f.Ctx, f.CallAuth(adam, domain.AuthEvidence{AuthenticatedAt: f.Now}), r.ID, confirm)
	WantCode(t, err, domain.CodeForbidden)
	WantContains(t, err, "multi-factor")
	stale := domain.AuthEvidence{MFA: true, AuthenticatedAt: f.Now.Add(-time.Hour)}
	_, err = f.Eng.Decide(f.Ctx, f.CallAuth(adam, stale), r.ID, confirm)
	WantContains(t, err, "older than")
	got, err := f.Eng.Decide(f.Ctx, f.Call(adam), r.ID, confirm)
	if err != nil || got.Status != domain.StatusProvisioned || !f.HasRole(adam, RoleOther) {
		t.Fatalf("confirmed: %v %v", got.Status, err)
	}
}

func testTicketActivationConfirmationThenApproval(t *testing.T, su suite) {
	f, _, _, adam := ticketFixture(t, su)
	carol := f.NewUser()
	f.RequireApproval(RoleOther, UserApprover(carol))
	f.MakeEligible(adam, RoleOther)
	r, err := f.Eng.SubmitTicket(f.Ctx, f.System(), ticketReq(adam, RoleOther, "INC0012345", "a1"))
	if err != nil || len(r.Approval.Stages) != 2 {
		t.Fatalf("stages: %+v %v", r.Approval, err)
	}
	// The approver cannot skip the requester's confirmation.
	_, err = f.Eng.Decide(f.Ctx, f.Call(carol), r.ID, engine.Decision{StageID: "stage-1", Result: "Approve"})
	WantCode(t, err, domain.CodeConflict)
	if got, err := f.Eng.Decide(f.Ctx, f.Call(adam), r.ID, engine.Decision{StageID: "confirm", Result: "Approve"}); err != nil || got.Status != domain.StatusPendingApproval {
		t.Fatalf("after confirmation: %v %v", got.Status, err)
	}
	if got, err := f.Eng.Decide(f.Ctx, f.Call(carol), r.ID, engine.Decision{StageID: "stage-1", Result: "Approve"}); err != nil || got.Status != domain.StatusProvisioned {
		t.Fatalf("after approval: %v %v", got.Status, err)
	}
}

func testTicketRefusalsAreNoted(t *testing.T, su suite) {
	f, tk, _, adam := ticketFixture(t, su)
	f.noMFAPolicy(RoleOther)
	stranger := ticketReq(adam, RoleOther, "INC0012345", "a1")
	stranger.Requester = "nobody@contoso.example"
	_, err := f.Eng.SubmitTicket(f.Ctx, f.System(), stranger)
	WantCode(t, err, domain.CodeNotFound)
	_, err = f.Eng.SubmitTicket(f.Ctx, f.System(), ticketReq(adam, RoleOther, "INC0012345", "a1")) // not eligible
	WantCode(t, err, domain.CodeForbidden)
	bg := ticketReq(adam, RoleOther, "INC0012345", "a1")
	bg.Requester = UPN(f.BreakGlass)
	_, err = f.Eng.SubmitTicket(f.Ctx, f.System(), bg)
	WantCode(t, err, domain.CodeForbidden)
	notes := tk.notesOf("INC0012345")
	if strings.Count(notes, "refused") != 3 || !strings.Contains(notes, "not an account") || !strings.Contains(notes, "break-glass") {
		t.Fatalf("notes: %q", notes)
	}
	if len(f.RequestsOf(adam)) != 0 {
		t.Fatal("a refused ticket request was stored")
	}
}
