package names_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/fakearm"
	"github.com/jitpim/jitpim/shared/fakedir"
	"github.com/jitpim/jitpim/shared/names"
)

const (
	adam   domain.ObjectID = "a47440fe-ede2-441f-a6c7-93ef77d456d2"
	nobody domain.ObjectID = "00000000-0000-4000-8000-0000000000ff"
	dev    domain.ObjectID = "6756a9c9-c7e3-4b68-9883-5dbadb50b0e6"
	custom domain.ObjectID = "c0570000-0000-4000-8000-000000000001"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(o names.Options) (*names.Resolver, *fakedir.Dir, *clock) {
	d := fakedir.New()
	d.AddUser(domain.User{ID: adam, DisplayName: "Adam Admin", UserPrincipalName: "adam@contoso.example", Enabled: true})
	d.AddNamedGroup(dev, "PAG-DEV-TEAM")
	d.AddRoleDefinition(domain.RoleDefinition{ID: custom, DisplayName: "Mailbox Helper"})
	c := &clock{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	o.Now = c.now
	return names.New(d, nil, o), d, c
}

// prodSub is a subscription Azure names; otherSub one it does not.
const (
	prodSub  = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	otherSub = "/subscriptions/5e0c0000-0000-4000-8000-000000000001"
	rootMG   = "/providers/microsoft.management/managementgroups/contoso"
)

func setupAzure(o names.Options) (*names.Resolver, *fakearm.RBAC, *clock) {
	a := fakearm.New()
	a.NameScope(prodSub, "Contoso Production")
	a.NameScope(rootMG, "Contoso Root")
	c := &clock{time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	o.Now = c.now
	return names.New(fakedir.New(), a, o), a, c
}

func TestNames(t *testing.T) {
	ctx := context.Background()
	r, _, _ := setup(names.Options{})
	for _, tc := range []struct {
		what, got, want string
	}{
		{"person", r.Person(ctx, adam), "Adam Admin (adam@contoso.example)"},
		{"display name", r.DisplayName(ctx, adam), "Adam Admin"},
		{"unknown person", r.Person(ctx, nobody), "user " + string(nobody) + " (name not found)"},
		{"unknown display name", r.DisplayName(ctx, nobody), "user " + string(nobody) + " (name not found)"},
		{"group", r.Group(ctx, dev), "PAG-DEV-TEAM"},
		{"unknown group", r.Group(ctx, nobody), "group " + string(nobody) + " (name not found)"},
		{"built-in role", r.Role(ctx, domain.RoleGlobalAdministrator), "Global Administrator"},
		{"custom role", r.Role(ctx, custom), "Mailbox Helper"},
		{"unknown role", r.Role(ctx, nobody), "role " + string(nobody) + " (name not found)"},
		{"role target", r.Target(ctx, domain.Target{Kind: domain.TargetRole, RoleDefinitionID: domain.RoleGlobalAdministrator, DirectoryScopeID: "/"}), "Global Administrator"},
		{"scoped role target", r.Target(ctx, domain.Target{Kind: domain.TargetRole, RoleDefinitionID: custom, DirectoryScopeID: "/administrativeUnits/x"}), "Mailbox Helper at /administrativeUnits/x"},
		{"group target", r.Target(ctx, domain.Target{Kind: domain.TargetGroup, GroupID: dev, AccessID: "member"}), "member of group PAG-DEV-TEAM"},
		{"Azure role target without Azure", r.Target(ctx, domain.AzureRoleTarget(domain.AzureRoleContributor, "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourcegroups/rg-web")), "Contributor at resource group rg-web (subscription 0b1f6471-1bf0-4dda-aec3-cb9272f09590)"},
		{"unknown group target", r.Target(ctx, domain.Target{Kind: domain.TargetGroup, GroupID: nobody, AccessID: "owner"}), "owner of group " + string(nobody) + " (name not found)"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.what, tc.got, tc.want)
		}
	}
}

func TestCacheAsksOnceAndExpires(t *testing.T) {
	ctx := context.Background()
	r, d, c := setup(names.Options{TTL: 10 * time.Minute, MissTTL: time.Minute})
	for range 5 {
		r.Person(ctx, adam)
		r.Group(ctx, dev)
		r.Person(ctx, nobody)
		r.Role(ctx, domain.RoleGlobalAdministrator) // built in: never asked
	}
	if got := d.Calls(); got["GetUser"] != 2 || got["GetGroup"] != 1 || got["GetRoleDefinition"] != 0 {
		t.Fatalf("five rounds asked the directory %v; want each name once", got)
	}
	c.t = c.t.Add(2 * time.Minute) // the miss expired, the names not
	r.Person(ctx, adam)
	r.Person(ctx, nobody)
	if got := d.Calls()["GetUser"]; got != 3 {
		t.Fatalf("after the miss TTL: %d GetUser calls, want 3", got)
	}
	d.AddUser(domain.User{ID: adam, DisplayName: "Adam Renamed", UserPrincipalName: "adam@contoso.example"})
	if got := r.DisplayName(ctx, adam); got != "Adam Admin" {
		t.Fatalf("within the TTL: %q", got)
	}
	c.t = c.t.Add(10 * time.Minute)
	if got := r.DisplayName(ctx, adam); got != "Adam Renamed" {
		t.Fatalf("after the TTL: %q", got)
	}
}

func TestFailuresAreShownNotKept(t *testing.T) {
	ctx := context.Background()
	r, d, _ := setup(names.Options{})
	d.Fail = func(string) error { return errors.New("graph is down") }
	if got := r.Person(ctx, adam); !strings.Contains(got, string(adam)) || !strings.Contains(got, "name not found") {
		t.Fatalf("while the directory fails: %q", got)
	}
	d.Fail = nil
	if got := r.Person(ctx, adam); got != "Adam Admin (adam@contoso.example)" {
		t.Fatalf("a failure was cached: %q", got)
	}
}

func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	r, d, _ := setup(names.Options{MaxEntries: 3})
	ids := make([]domain.ObjectID, 5)
	for i := range ids {
		ids[i] = domain.ObjectID(fmt.Sprintf("00000000-0000-4000-8000-00000000010%d", i))
		d.AddUser(domain.User{ID: ids[i], DisplayName: fmt.Sprint("User ", i)})
		r.Person(ctx, ids[i])
	}
	before := d.Calls()["GetUser"]
	r.Person(ctx, ids[4]) // recent: kept
	if d.Calls()["GetUser"] != before {
		t.Fatal("the most recent entry was evicted")
	}
	r.Person(ctx, ids[0]) // oldest: evicted, asked again
	if d.Calls()["GetUser"] != before+1 {
		t.Fatal("the cache holds more than MaxEntries")
	}
}

// slowDir answers only when the context ends, as a hung Graph call does.
type slowDir struct{ names.Directory }

func (slowDir) GetUser(ctx context.Context, id domain.ObjectID) (domain.User, error) {
	<-ctx.Done()
	return domain.User{}, ctx.Err()
}

func TestSlowDirectoryIsCutShort(t *testing.T) {
	r := names.New(slowDir{}, nil, names.Options{Timeout: 20 * time.Millisecond})
	start := time.Now()
	got := r.Person(context.Background(), adam)
	if time.Since(start) > 2*time.Second || got != "user "+string(adam)+" (name not found)" {
		t.Fatalf("a hung directory: %q after %s", got, time.Since(start))
	}
}

// Azure role targets name their subscription or management group as Azure
// does, and show the id, visibly, for one Azure does not name.
func TestAzureTargets(t *testing.T) {
	ctx := context.Background()
	r, _, _ := setupAzure(names.Options{})
	for _, tc := range []struct {
		role  domain.ObjectID
		scope string
		want  string
	}{
		{domain.AzureRoleReader, prodSub + "/resourcegroups/rg-web", "Reader at resource group rg-web (subscription Contoso Production)"},
		{domain.AzureRoleOwner, prodSub, "Owner at subscription Contoso Production"},
		{domain.AzureRoleContributor, prodSub + "/resourcegroups/rg-web/providers/microsoft.web/sites/shop",
			"Contributor at resource shop (" + prodSub + "/resourcegroups/rg-web/providers/microsoft.web/sites/shop, subscription Contoso Production)"},
		{domain.AzureRoleReader, rootMG, "Reader at management group Contoso Root"},
		{domain.AzureRoleReader, otherSub + "/resourcegroups/rg-x", "Reader at resource group rg-x (subscription 5e0c0000-0000-4000-8000-000000000001)"},
	} {
		if got := r.Target(ctx, domain.AzureRoleTarget(tc.role, tc.scope)); got != tc.want {
			t.Errorf("Target(%s at %s) = %q, want %q", tc.role, tc.scope, got, tc.want)
		}
	}
}

// A subscription's name is read once per TTL however many targets lie in
// it; one Azure does not know, or will not show jitpim, is asked again
// after MissTTL; an outage is not kept at all.
func TestAzureNamesCached(t *testing.T) {
	ctx := context.Background()
	r, a, c := setupAzure(names.Options{TTL: 10 * time.Minute, MissTTL: time.Minute})
	for range 5 {
		r.Target(ctx, domain.AzureRoleTarget(domain.AzureRoleReader, prodSub+"/resourcegroups/rg-web"))
		r.Target(ctx, domain.AzureRoleTarget(domain.AzureRoleOwner, prodSub))
		r.Target(ctx, domain.AzureRoleTarget(domain.AzureRoleReader, otherSub))
	}
	if got := a.Calls()["ScopeDisplayName"]; got != 2 {
		t.Fatalf("five rounds over two subscriptions asked Azure %d times, want 2", got)
	}
	a.NameScope(prodSub, "Contoso Prod (renamed)")
	a.NameScope(otherSub, "Contoso Test")
	if got := r.Target(ctx, domain.AzureRoleTarget(domain.AzureRoleOwner, otherSub)); got != "Owner at subscription "+otherSub[len("/subscriptions/"):] {
		t.Fatalf("within the miss TTL: %q", got)
	}
	c.t = c.t.Add(2 * time.Minute)
	if got := r.Target(ctx, domain.AzureRoleTarget(domain.AzureRoleOwner, otherSub)); got != "Owner at subscription Contoso Test" {
		t.Fatalf("after the miss TTL: %q", got)
	}
	if got := r.Target(ctx, domain.AzureRoleTarget(domain.AzureRoleOwner, prodSub)); got != "Owner at subscription Contoso Production" {
		t.Fatalf("within the TTL: %q", got)
	}
	c.t = c.t.Add(10 * time.Minute)
	if got := r.Target(ctx, domain.AzureRoleTarget(domain.AzureRoleOwner, prodSub)); got != "Owner at subscription Contoso Prod (renamed)" {
		t.Fatalf("after the TTL: %q", got)
	}

	for _, tc := range []struct {
		err  error
		kept bool
	}{
		{domain.Errorf(domain.CodeForbidden, "AuthorizationFailed"), true},
		{domain.Errorf(domain.CodeTransient, "ARM is down"), false},
	} {
		r, a, _ := setupAzure(names.Options{})
		a.Fail = func(string) error { return tc.err }
		if got := r.Target(ctx, domain.AzureRoleTarget(domain.AzureRoleOwner, prodSub)); !strings.Contains(got, prodSub[len("/subscriptions/"):]) {
			t.Fatalf("while Azure answers %v: %q, want the id", tc.err, got)
		}
		a.Fail = nil
		got := r.Target(ctx, domain.AzureRoleTarget(domain.AzureRoleOwner, prodSub))
		if kept := !strings.Contains(got, "Contoso Production"); kept != tc.kept {
			t.Fatalf("after %v: %q; want the miss kept = %v", tc.err, got, tc.kept)
		}
	}
}
