package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

func TestScheduleLiveAndActiveAt(t *testing.T) {
	start, end := t0, t0.Add(8*time.Hour)
	s := domain.Schedule{Status: domain.ScheduleProvisioned, Start: start, End: end}
	cases := []struct {
		name         string
		s            domain.Schedule
		now          time.Time
		live, active bool
	}{
		{"before start", s, start.Add(-time.Nanosecond), true, false},
		{"exactly at start", s, start, true, true},
		{"midway", s, start.Add(4 * time.Hour), true, true},
		{"one ns before end", s, end.Add(-time.Nanosecond), true, true},
		{"exactly at end", s, end, false, false},
		{"after end", s, end.Add(time.Hour), false, false},
		{"permanent long after", domain.Schedule{Status: domain.ScheduleProvisioned, Start: start}, start.Add(10 * 365 * 24 * time.Hour), true, true},
		{"permanent before start", domain.Schedule{Status: domain.ScheduleProvisioned, Start: start}, start.Add(-time.Hour), true, false},
		{"revoked within window", domain.Schedule{Status: domain.ScheduleRevoked, Start: start, End: end}, start.Add(time.Hour), false, false},
		{"expired within window", domain.Schedule{Status: domain.ScheduleExpired, Start: start, End: end}, start.Add(time.Hour), false, false},
		{"revoked permanent", domain.Schedule{Status: domain.ScheduleRevoked, Start: start}, start.Add(time.Hour), false, false},
		{"no status", domain.Schedule{Start: start, End: end}, start.Add(time.Hour), false, false},
	}
	for _, c := range cases {
		if got := c.s.Live(c.now); got != c.live {
			t.Errorf("%s: Live = %v, want %v", c.name, got, c.live)
		}
		if got := c.s.ActiveAt(c.now); got != c.active {
			t.Errorf("%s: ActiveAt = %v, want %v", c.name, got, c.active)
		}
	}
	if !(domain.Schedule{Start: start}).Permanent() || s.Permanent() {
		t.Error("Permanent() wrong")
	}
}

func TestScheduleWindow(t *testing.T) {
	now := t0
	later := t0.Add(time.Hour)
	cases := []struct {
		name       string
		si         domain.ScheduleInfo
		start, end time.Time
	}{
		{"duration from now", domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDuration, Duration: 2 * time.Hour}, now, now.Add(2 * time.Hour)},
		{"duration from start", domain.ScheduleInfo{Start: later, ExpirationType: domain.ExpireAfterDuration, Duration: time.Hour}, later, later.Add(time.Hour)},
		{"datetime", domain.ScheduleInfo{ExpirationType: domain.ExpireAfterDateTime, End: later}, now, later},
		{"never", domain.ScheduleInfo{ExpirationType: domain.ExpireNever, End: later, Duration: time.Hour}, now, time.Time{}},
		{"no type", domain.ScheduleInfo{}, now, time.Time{}},
	}
	for _, c := range cases {
		s, e := c.si.Window(now)
		if !s.Equal(c.start) || !e.Equal(c.end) {
			t.Errorf("%s: Window = %v..%v, want %v..%v", c.name, s, e, c.start, c.end)
		}
	}
}

func testGrant() domain.Grant {
	return domain.Grant{
		PrincipalID: userA,
		Target:      domain.RoleTarget(roleGA, "/"),
		Holders: []domain.Holder{
			{ScheduleID: "assigned", AssignmentType: domain.AssignmentAssigned},                            // permanent admin assignment
			{ScheduleID: "ended", AssignmentType: domain.AssignmentActivated, End: t0},                     // ended exactly at t0
			{ScheduleID: "running", AssignmentType: domain.AssignmentActivated, End: t0.Add(time.Hour)},    // live until t0+1h
			{ScheduleID: "later", AssignmentType: domain.AssignmentActivated, End: t0.Add(2 * time.Hour)},  // live until t0+2h
			{ScheduleID: "assigned2", AssignmentType: domain.AssignmentAssigned, End: t0.Add(time.Minute)}, // expiring admin assignment
		},
	}
}

func TestGrantLiveActivation(t *testing.T) {
	g := testGrant()
	h, ok := g.LiveActivation(t0)
	if !ok || h.ScheduleID != "running" {
		t.Errorf("LiveActivation(t0) = %+v %v, want running (not the ended one, nor an Assigned holder)", h, ok)
	}
	h, ok = g.LiveActivation(t0.Add(time.Hour))
	if !ok || h.ScheduleID != "later" {
		t.Errorf("LiveActivation(t0+1h) = %+v %v, want later", h, ok)
	}
	if h, ok := g.LiveActivation(t0.Add(2 * time.Hour)); ok {
		t.Errorf("LiveActivation at the last end = %+v, want none", h)
	}
	only := domain.Grant{Holders: []domain.Holder{{ScheduleID: "a", AssignmentType: domain.AssignmentAssigned}}}
	if h, ok := only.LiveActivation(t0); ok {
		t.Errorf("an Assigned holder counted as an activation: %+v", h)
	}
	perm := domain.Grant{Holders: []domain.Holder{{ScheduleID: "p", AssignmentType: domain.AssignmentActivated}}}
	if h, ok := perm.LiveActivation(t0.Add(1000 * time.Hour)); !ok || h.ScheduleID != "p" {
		t.Errorf("an activation without end is live: got %+v %v", h, ok)
	}
}

func TestGrantRemoveHolderWantedSettled(t *testing.T) {
	g := testGrant()
	if !g.HasHolder("running") || g.HasHolder("nope") {
		t.Error("HasHolder wrong")
	}
	if g.RemoveHolder("nope") {
		t.Error("RemoveHolder of an absent id reported true")
	}
	if len(g.Holders) != 5 {
		t.Fatalf("holders = %d, want 5", len(g.Holders))
	}
	if !g.RemoveHolder("running") {
		t.Error("RemoveHolder(running) = false")
	}
	if g.HasHolder("running") || len(g.Holders) != 4 {
		t.Errorf("after remove: %+v", g.Holders)
	}
	var ids []string
	for _, h := range g.Holders {
		ids = append(ids, h.ScheduleID)
	}
	if want := []string{"assigned", "ended", "later", "assigned2"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("holders after remove = %v, want %v (order kept)", ids, want)
	}
	if g.RemoveHolder("running") {
		t.Error("second RemoveHolder(running) = true")
	}

	g.Applied = true
	if !g.Wanted() || !g.Settled() {
		t.Errorf("holders + applied: Wanted %v Settled %v, want true true", g.Wanted(), g.Settled())
	}
	g.Applied = false
	if !g.Wanted() || g.Settled() {
		t.Errorf("holders, not applied: Wanted %v Settled %v, want true false", g.Wanted(), g.Settled())
	}
	for _, id := range []string{"assigned", "ended", "later", "assigned2"} {
		g.RemoveHolder(id)
	}
	if g.Wanted() || !g.Settled() {
		t.Errorf("no holders, not applied: Wanted %v Settled %v, want false true", g.Wanted(), g.Settled())
	}
	g.Applied = true
	if g.Wanted() || g.Settled() {
		t.Errorf("no holders, applied: Wanted %v Settled %v, want false false", g.Wanted(), g.Settled())
	}
}

func TestGrantKey(t *testing.T) {
	role := domain.RoleTarget(roleGA, "/")
	if got, want := domain.GrantKey(userA, role), userA+"|role:"+string(roleGA)+":/"; got != want {
		t.Errorf("GrantKey = %q, want %q", got, want)
	}
	g := domain.Grant{PrincipalID: userA, Target: domain.GroupTarget(groupA, "owner")}
	if got, want := g.Key(), userA+"|group:"+groupA+":owner"; got != want {
		t.Errorf("Grant.Key = %q, want %q", got, want)
	}
	keys := map[string]bool{}
	for _, p := range []domain.ObjectID{userA, userB} {
		for _, tg := range []domain.Target{role, domain.RoleTarget(roleGA, auScope), domain.RoleTarget(rolePRA, "/"),
			domain.GroupTarget(groupA, "member"), domain.GroupTarget(groupA, "owner"), domain.GroupTarget(groupB, "member")} {
			k := domain.GrantKey(p, tg)
			if keys[k] {
				t.Errorf("duplicate grant key %q", k)
			}
			keys[k] = true
		}
	}
}

func auditRecord() domain.AuditRecord {
	return domain.AuditRecord{
		ID: "a1", Time: t0, ActorID: userA, Action: "request.create", Category: "RoleManagement",
		Target: domain.RoleTarget(roleGA, "/"), PrincipalID: userB, RequestID: "r1", Outcome: "success",
		Reason: "ok", InvocationID: "inv-1", Details: map[string]string{"k": "v", "policy_id": "Default"},
		PrevHash: "abc",
	}
}

func TestAuditHashChangesWithEveryField(t *testing.T) {
	base := domain.AuditHash(auditRecord())
	if len(base) != 64 {
		t.Fatalf("hash %q is not hex SHA-256", base)
	}
	if again := domain.AuditHash(auditRecord()); again != base {
		t.Fatalf("hash not deterministic: %s vs %s", base, again)
	}
	mods := map[string]func(r *domain.AuditRecord){
		"ID":               func(r *domain.AuditRecord) { r.ID = "a2" },
		"Time":             func(r *domain.AuditRecord) { r.Time = r.Time.Add(time.Nanosecond) },
		"ActorID":          func(r *domain.AuditRecord) { r.ActorID = "jitpim" },
		"Action":           func(r *domain.AuditRecord) { r.Action = "grant.add" },
		"Category":         func(r *domain.AuditRecord) { r.Category = "Policy" },
		"Target role":      func(r *domain.AuditRecord) { r.Target = domain.RoleTarget(rolePRA, "/") },
		"Target scope":     func(r *domain.AuditRecord) { r.Target = domain.RoleTarget(roleGA, auScope) },
		"Target group":     func(r *domain.AuditRecord) { r.Target = domain.GroupTarget(groupA, "member") },
		"PrincipalID":      func(r *domain.AuditRecord) { r.PrincipalID = userA },
		"RequestID":        func(r *domain.AuditRecord) { r.RequestID = "r2" },
		"Outcome":          func(r *domain.AuditRecord) { r.Outcome = "failure" },
		"Reason":           func(r *domain.AuditRecord) { r.Reason = "" },
		"InvocationID":     func(r *domain.AuditRecord) { r.InvocationID = "inv-2" },
		"PrevHash":         func(r *domain.AuditRecord) { r.PrevHash = "abd" },
		"PrevHash empty":   func(r *domain.AuditRecord) { r.PrevHash = "" },
		"Details value":    func(r *domain.AuditRecord) { r.Details["k"] = "w" },
		"Details key":      func(r *domain.AuditRecord) { r.Details = map[string]string{"K": "v", "policy_id": "Default"} },
		"Details added":    func(r *domain.AuditRecord) { r.Details["extra"] = "" },
		"Details removed":  func(r *domain.AuditRecord) { delete(r.Details, "k") },
		"Details nil":      func(r *domain.AuditRecord) { r.Details = nil },
		"Details boundary": func(r *domain.AuditRecord) { r.Details = map[string]string{"kv": "", "policy_id": "Default"} },
		// field boundaries must not be ambiguous
		"shift Action/Category": func(r *domain.AuditRecord) { r.Action, r.Category = "request.createRole", "Management" },
		"shift Reason/InvID":    func(r *domain.AuditRecord) { r.Reason, r.InvocationID = "okinv-1", "" },
	}
	seen := map[string]string{base: "base"}
	for name, mod := range mods {
		r := auditRecord()
		mod(&r)
		h := domain.AuditHash(r)
		if prev, dup := seen[h]; dup {
			t.Errorf("changing %s gives the same hash as %s", name, prev)
		}
		seen[h] = name
	}
	// Hash itself is not hashed, and the time zone of the same instant does not matter.
	r := auditRecord()
	r.Hash = "whatever"
	r.Time = t0.In(time.FixedZone("CET", 3600))
	if h := domain.AuditHash(r); h != base {
		t.Errorf("Hash field or time zone changed the hash")
	}
}

func chain(n int) []domain.AuditRecord {
	var out []domain.AuditRecord
	prev := ""
	for i := range n {
		r := auditRecord()
		r.ID = "a" + string(rune('0'+i))
		r.Time = t0.Add(time.Duration(i) * time.Minute)
		r.Details = map[string]string{"i": string(rune('0' + i))}
		r.PrevHash = prev
		r.Hash = domain.AuditHash(r)
		prev = r.Hash
		out = append(out, r)
	}
	return out
}

func TestVerifyChain(t *testing.T) {
	if got := domain.VerifyChain(nil); got != -1 {
		t.Errorf("empty chain: %d, want -1", got)
	}
	if got := domain.VerifyChain(chain(6)); got != -1 {
		t.Errorf("intact chain: %d, want -1", got)
	}
	cases := []struct {
		name string
		mod  func(c []domain.AuditRecord) []domain.AuditRecord
		want int
	}{
		{"tamper first", func(c []domain.AuditRecord) []domain.AuditRecord { c[0].Outcome = "failure"; return c }, 0},
		{"tamper middle", func(c []domain.AuditRecord) []domain.AuditRecord { c[3].ActorID = userB; return c }, 3},
		{"tamper last", func(c []domain.AuditRecord) []domain.AuditRecord { c[5].Details["i"] = "x"; return c }, 5},
		{"tamper and rehash breaks the next link", func(c []domain.AuditRecord) []domain.AuditRecord {
			c[2].Reason = "covered up"
			c[2].Hash = domain.AuditHash(c[2])
			return c
		}, 3},
		{"forged hash", func(c []domain.AuditRecord) []domain.AuditRecord { c[4].Hash = c[3].Hash; return c }, 4},
		{"delete first", func(c []domain.AuditRecord) []domain.AuditRecord { return c[1:] }, 0},
		{"delete middle", func(c []domain.AuditRecord) []domain.AuditRecord { return append(c[:2], c[3:]...) }, 2},
		{"reorder", func(c []domain.AuditRecord) []domain.AuditRecord { c[3], c[4] = c[4], c[3]; return c }, 3},
		{"reversed", func(c []domain.AuditRecord) []domain.AuditRecord {
			for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
				c[i], c[j] = c[j], c[i]
			}
			return c
		}, 0},
		{"duplicate", func(c []domain.AuditRecord) []domain.AuditRecord {
			return append(c[:3:3], append([]domain.AuditRecord{c[2]}, c[3:]...)...)
		}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := domain.VerifyChain(c.mod(chain(6))); got != c.want {
				t.Errorf("VerifyChain = %d, want %d", got, c.want)
			}
		})
	}
}
