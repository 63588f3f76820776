package enginetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// fakeMailer records sends and can fail on demand.
type fakeMailer struct {
	mu   sync.Mutex
	sent []sentMail
	fail error
}

type sentMail struct {
	to            []string
	subject, html string
}

func (m *fakeMailer) SendMail(ctx context.Context, to []string, subject, html, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.sent = append(m.sent, sentMail{append([]string(nil), to...), subject, html})
	return nil
}

func (m *fakeMailer) to(addr string) []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sentMail
	for _, s := range m.sent {
		for _, a := range s.to {
			if a == addr {
				out = append(out, s)
			}
		}
	}
	return out
}

func mailFixture(t *testing.T, su suite) (*Fixture, *fakeMailer) {
	m := &fakeMailer{}
	f := su.fixture(t, func(s *Setup) {
		s.Mailer = m
		s.Config.AdminRecipients = []string{"soc@contoso.example"}
		s.Links = fakeLinks{sep: "-"}
	})
	return f, m
}

func (m *fakeMailer) about(addr, subject string) int {
	n := 0
	for _, s := range m.to(addr) {
		if strings.Contains(s.subject, subject) {
			n++
		}
	}
	return n
}

// flush does what the API does after each call: send what the call queued.
func (f *Fixture) submitAndFlush(caller domain.ObjectID, in engine.Submission) domain.Request {
	f.T.Helper()
	c := f.Call(caller)
	r, err := f.Eng.Submit(f.Ctx, c, in)
	if err != nil {
		f.T.Fatal(err)
	}
	f.Eng.FlushMail(f.Ctx, c)
	return r
}

func testActivationNotifiesRequesterAndAdmins(t *testing.T, su suite) {
	f, m := mailFixture(t, su)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	f.submitAndFlush(alice, ActivationSub(alice, RoleGA, time.Hour))
	if got := m.to(UPN(alice)); len(got) != 1 || !strings.Contains(got[0].subject, "activated Global Administrator") {
		t.Fatalf("requester mail: %+v", got)
	}
	if got := m.to("soc@contoso.example"); len(got) != 1 {
		t.Fatalf("admin mail: %+v", got)
	}
	// A second flush or a sweep sends nothing twice.
	f.Sweep()
	if n := m.about(UPN(alice), "activated"); n != 1 {
		t.Fatalf("activation mail sent %d times", n)
	}
	if n := m.about(UPN(alice), "You are eligible"); n != 1 {
		t.Fatalf("eligibility mail sent %d times, want once (by the sweep)", n)
	}
}

func testApproversGetPersonalLinksNotTheRequester(t *testing.T, su suite) {
	f, m := mailFixture(t, su)
	alice, bob, carol := f.NewUser(), f.NewUser(), f.NewUser()
	group := f.NewID()
	f.Dir.AddMember(group, carol)
	f.Dir.AddMember(group, alice) // the requester is in the approver group
	f.RequireApproval(RoleGA, UserApprover(bob), GroupApprover(group))
	f.MakeEligible(alice, RoleGA)
	r := f.submitAndFlush(alice, ActivationSub(alice, RoleGA, time.Hour))
	for _, who := range []domain.ObjectID{bob, carol} {
		got := m.to(UPN(who))
		if len(got) != 1 || !strings.Contains(got[0].html, "/api/approvals/"+r.ID+"-stage-1-"+string(who)) {
			t.Fatalf("approver %s mail: %+v", who, got)
		}
	}
	if got := m.to(UPN(alice)); len(got) != 0 {
		t.Fatalf("the requester was asked to approve: %+v", got)
	}
	c := f.Call(bob)
	if _, err := f.Eng.Decide(f.Ctx, c, r.ID, engine.Decision{StageID: "stage-1", Result: "Deny", Justification: "no change window"}); err != nil {
		t.Fatal(err)
	}
	f.Eng.FlushMail(f.Ctx, c)
	got := m.to(UPN(alice))
	if len(got) != 1 || !strings.Contains(got[0].subject, "Denied") || !strings.Contains(got[0].html, "no change window") {
		t.Fatalf("denial mail: %+v", got)
	}
}

func testFailedSendNeverBlocksAndIsRetried(t *testing.T, su suite) {
	f, m := mailFixture(t, su)
	alice := f.NewUser()
	f.MakeEligible(alice, RoleGA)
	m.fail = errors.New("503 mailbox busy")
	r := f.submitAndFlush(alice, ActivationSub(alice, RoleGA, time.Hour))
	if r.Status != domain.StatusProvisioned || !f.HasRole(alice, RoleGA) {
		t.Fatalf("a mail failure changed the outcome: %s", r.Status)
	}
	m.fail = nil
	f.Sweep() // still in backoff: nothing sent yet
	if n := m.about(UPN(alice), "activated"); n != 0 {
		t.Fatalf("sent during backoff: %d", n)
	}
	f.Advance(2 * time.Minute)
	res := f.Sweep()
	if n := m.about(UPN(alice), "activated"); n != 1 || res.MailSent < 1 {
		t.Fatalf("retry did not send: %d (%+v)", n, res)
	}
}

func testCriticalLevelSendsOnlyActionMail(t *testing.T, su suite) {
	f, m := mailFixture(t, su)
	alice := f.NewUser()
	f.SetPolicy(domain.PolicyID(RoleGA), func(p *domain.Policy) {
		for i := range p.Notifications {
			p.Notifications[i].Level = domain.LevelCritical
		}
	})
	f.MakeEligible(alice, RoleGA)
	f.submitAndFlush(alice, ActivationSub(alice, RoleGA, time.Hour))
	if m.about(UPN(alice), "activated") != 0 || m.about("soc@contoso.example", "activated") != 0 {
		t.Fatal("critical-only rules sent an informational mail")
	}
}

func testExpiringReminderOnce(t *testing.T, su suite) {
	f, m := mailFixture(t, su)
	alice := f.NewUser()
	f.MustSubmit(f.Admin, EligibilitySub(alice, RoleOther, Lasting(10*24*time.Hour)))
	for i := 0; i < 3; i++ { // a daily timer that runs three times, or twice at once
		if _, err := f.Notices.SendReminders(f.Ctx, f.System()); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for _, s := range m.to(UPN(alice)) {
		if strings.Contains(s.subject, "expires on") {
			got++
		}
	}
	if got != 1 {
		t.Fatalf("%d reminders, want 1", got)
	}
	f.Advance(11 * 24 * time.Hour)
	f.Sweep()
	expired := 0
	for _, s := range m.to(UPN(alice)) {
		if strings.Contains(s.subject, "has expired") {
			expired++
		}
	}
	if expired != 1 {
		t.Fatalf("%d expiry mails, want 1", expired)
	}
}

// fakeLinks makes readable links: the request, the stage and the person.
type fakeLinks struct{ sep string }

func (l fakeLinks) ApprovalLink(req, stage string, approver domain.ObjectID, _ time.Time) (string, error) {
	return "https://jitpim.example/api/approvals/" + req + l.sep + stage + l.sep + string(approver), nil
}

func (l fakeLinks) ConfirmLink(req, stage string, requester domain.ObjectID, exp time.Time) (string, error) {
	return l.ApprovalLink(req, stage, requester, exp)
}
