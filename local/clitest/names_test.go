package clitest_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// tickets is a ticket system that knows a few tickets, each naming one
// requester, and keeps the work notes jitpim writes.
type tickets struct {
	mu     sync.Mutex
	owners map[string]string // ticket number -> requester UPN
	notes  []string
}

func (tk *tickets) CheckTicket(ctx context.Context, t domain.TicketInfo, start, end time.Time) (domain.TicketCheck, error) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	upn, ok := tk.owners[t.Number]
	if !ok {
		return domain.TicketCheck{}, domain.Errorf(domain.CodeNotFound, "no such ticket")
	}
	return domain.TicketCheck{System: "ServiceNow", Table: "change_request", Number: t.Number, SysID: "sys-" + t.Number, State: "open", Requesters: []string{upn}}, nil
}

func (tk *tickets) AddNote(ctx context.Context, t domain.TicketCheck, note string) error {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.notes = append(tk.notes, note)
	return nil
}

var guid = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// setting is an app setting line of a plan ("JITPIM_BREAK_GLASS_IDS=…"):
// a value to paste into configuration, where ids are what is asked for.
var setting = regexp.MustCompile(`^\s*JITPIM_[A-Z_]+=`)

// bareGUIDs returns the lines of text that show the id of a user, group or
// role whose name is known without one of its names (display name, or the
// alias a policy file gives it): an id is allowed only as secondary detail
// next to the name.
func bareGUIDs(text string, known map[string][]string) []string {
	var bad []string
	for _, line := range strings.Split(text, "\n") {
		if setting.MatchString(line) {
			continue
		}
		for _, id := range guid.FindAllString(line, -1) {
			names, ok := known[strings.ToLower(id)]
			if ok && !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(line, n) }) {
				bad = append(bad, fmt.Sprintf("%s (the id of %q) in %q", id, names[0], strings.TrimSpace(line)))
			}
		}
	}
	return bad
}

// TestNoBareGUIDs drives representative flows (eligibility, activation with
// a validated ticket and approval, denial, deactivation, refusals) and
// scans everything a person reads: command-line output and errors, the
// API's refusals, the queued mails and the ServiceNow work notes. Any id of
// a user, group or role whose name is known must come with that name.
func TestNoBareGUIDs(t *testing.T) {
	tk := &tickets{owners: map[string]string{}}
	h := newHarnessWith(t, tk)
	known := map[string][]string{}
	for _, u := range h.tenant.Users {
		alias, _, _ := strings.Cut(u.UserPrincipalName, "@") // the demo policy file's names for people
		known[strings.ToLower(u.ID)] = []string{u.DisplayName, alias}
		tk.owners["CHG00"+u.UserPrincipalName[:3]] = u.UserPrincipalName
	}
	for _, g := range h.tenant.Groups {
		known[strings.ToLower(g.ID)] = []string{g.DisplayName}
	}
	for _, r := range domain.BuiltInRoles {
		known[string(r.ID)] = []string{r.DisplayName}
	}
	var seen []string
	look := func(what string, r result) result {
		seen = append(seen, what+":\n"+r.stdout+r.stderr)
		return r
	}
	h.must("gina", "config", "apply", demoFile)
	godMode, dev := group(h.tenant, "Global Administrators (God Mode)"), group(h.tenant, "PAG-DEV-TEAM")

	// Refusals that name a person and a role.
	if r := look("not eligible", h.run("adam", "activate", "Exchange Administrator", "--duration", "PT1H", "--justification", "x")); !strings.Contains(r.stderr, "Adam") || !strings.Contains(r.stderr, "is not eligible for Exchange Administrator") {
		t.Fatalf("the refusal does not name Adam and the role: %+v", r)
	}
	look("too long", h.run("rita", "activate", "Global Administrator", "--duration", "PT3H", "--justification", "x", "--ticket", "CHG00rit", "--ticket-system", "ServiceNow"))
	look("not my ticket", h.run("rita", "activate", "Global Administrator", "--duration", "PT1H", "--justification", "x", "--ticket", "CHG00ada", "--ticket-system", "ServiceNow"))
	// Approval of a role, with a validated ticket (work notes).
	r := look("activate GA", h.run("rita", "activate", "Global Administrator", "--duration", "PT1H", "--justification", "CA change", "--ticket", "CHG00rit", "--ticket-system", "ServiceNow"))
	m := requestID.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("activation: %+v", r)
	}
	r = look("approvals", h.run("alice", "approvals"))
	if !strings.Contains(r.stdout, "Rita") || !strings.Contains(r.stdout, "Global Administrator") {
		t.Fatalf("alice's inbox does not name Rita and the role: %s", r.stdout)
	}
	look("approve", h.run("alice", "approve", m[1], "--justification", "CAB approved"))
	look("roles", h.run("rita", "roles"))
	look("deactivate", h.run("rita", "deactivate", "Global Administrator"))
	// A group: asked for by name, denied.
	r = look("activate God Mode", h.run("rita", "activate", "--group", "Global Administrators (God Mode)", "--duration", "PT1H", "--justification", "break fix", "--ticket", "CHG00rit", "--ticket-system", "ServiceNow"))
	m = requestID.FindStringSubmatch(r.stdout)
	if m == nil || !strings.Contains(r.stdout, "member of group Global Administrators (God Mode)") {
		t.Fatalf("group activation by name: %+v", r)
	}
	r = look("group approvals", h.run("alice", "approvals"))
	if !strings.Contains(r.stdout, "member of group Global Administrators (God Mode)") {
		t.Fatalf("the inbox does not name the group: %s", r.stdout)
	}
	look("deny", h.run("alice", "deny", m[1], "--justification", "no change window"))
	r = look("stan's groups", h.run("stan", "roles", "--group"))
	if !strings.Contains(r.stdout, "PAG-DEV-TEAM") || !strings.Contains(r.stdout, dev) {
		t.Fatalf("stan's groups are not named: %s", r.stdout)
	}
	look("group activation", h.run("stan", "activate", "--group", dev, "--duration", "PT2H", "--justification", "deploy"))
	look("group deactivation", h.run("stan", "deactivate", "--group", "pag-dev-team"))
	// An admin refusal naming a person.
	look("duplicate", h.run("gina", "config", "apply", demoFile))
	_ = godMode

	mails, err := h.store.MailDue(context.Background(), time.Now().Add(24*time.Hour), 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) == 0 || len(tk.notes) == 0 {
		t.Fatalf("the flows made %d mails and %d work notes: the scan would prove nothing", len(mails), len(tk.notes))
	}
	for _, m := range mails {
		seen = append(seen, "mail "+m.Subject+":\n"+m.Subject+"\n"+m.Text+"\n"+m.HTML)
	}
	for _, n := range tk.notes {
		seen = append(seen, "work note:\n"+n)
	}
	if testing.Verbose() {
		t.Log(strings.Join(seen, "\n----\n"))
	}
	for _, text := range seen {
		if bad := bareGUIDs(text, known); len(bad) > 0 {
			t.Errorf("bare ids where a name is known:\n  %s\nin %s", strings.Join(bad, "\n  "), text)
		}
	}
}

// TestBareGUIDScanCatches: the scan fails on an id without its name and
// passes it next to the name, so TestNoBareGUIDs can fail.
func TestBareGUIDScanCatches(t *testing.T) {
	known := map[string][]string{"62e90394-69f5-4237-9190-012177145e10": {"Global Administrator"}}
	for _, tc := range []struct {
		text string
		bad  bool
	}{
		{"Rita is not eligible for role 62e90394-69f5-4237-9190-012177145e10 at /", true},
		{"Rita is not eligible for role 62E90394-69F5-4237-9190-012177145E10", true},
		{"eligible  Global Administrator  permanent  62e90394-69f5-4237-9190-012177145e10", false},
		{"request 0b6c2f7e-1d2a-4c55-9e7b-3a1f5d8c9e00 is pending", false}, // not a named object
		{"JITPIM_BREAK_GLASS_IDS=62e90394-69f5-4237-9190-012177145e10", false},
	} {
		if got := len(bareGUIDs(tc.text, known)) > 0; got != tc.bad {
			t.Errorf("%q: flagged %v, want %v", tc.text, got, tc.bad)
		}
	}
}

// TestCommandLineHelpsTheUser: usage without arguments, --help on every
// command, a version, suggestions for mistyped commands, flags and roles,
// and refusals that name the flag the user typed.
func TestCommandLineHelpsTheUser(t *testing.T) {
	h := newHarness(t)
	h.must("gina", "config", "apply", demoFile)
	if r := h.run("", nil...); r.code != 2 || !strings.Contains(r.stderr, "Usage:") || !strings.Contains(r.stderr, "activate ROLE") {
		t.Fatalf("no arguments: %+v", r)
	}
	for _, cmd := range [][]string{{"roles"}, {"activate"}, {"deactivate"}, {"extend"}, {"approvals"}, {"approve"}, {"deny"},
		{"config"}, {"config", "validate"}, {"config", "plan"}, {"config", "apply"}, {"audit"}, {"audit", "export"}, {"audit", "verify"},
		{"migrate", "ids"}, {"serve"}, {"version"}} {
		r := h.run("", append(cmd, "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:\n  jitpim "+strings.Join(cmd, " ")) {
			t.Errorf("%v --help: %+v", cmd, r)
		}
	}
	if r := h.run("", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "jitpim ") {
		t.Fatalf("version: %+v", r)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rols"}, "Did you mean this?\n\troles"},
		{[]string{"config", "aply", demoFile}, "did you mean apply?"},
		{[]string{"roles", "--gruop"}, "did you mean --group?"},
		{[]string{"activate", "Exchange Admin", "--duration", "PT1H"}, `did you mean "Exchange Administrator"?`},
		{[]string{"activate", "Globl Administrator", "--duration", "PT1H"}, `did you mean "Global Administrator"`},
		{[]string{"activate", "--group", "PAG-DEV", "--duration", "PT1H"}, `did you mean "PAG-DEV-TEAM"?`},
		{[]string{"serve"}, "serve runs in the handler binary only"},
	} {
		if r := h.run("stan", c.args...); r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	r := h.run("rita", "activate", "Global Administrator", "--duration", "PT3H", "--justification", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "--duration: PT3H is longer than this role's maximum activation of PT1H") {
		t.Fatalf("a refusal does not name the flag: %+v", r)
	}
}
