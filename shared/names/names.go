// Package names tells people who and what jitpim means: display names of
// users, groups and roles, read through the directory port, and of Azure
// subscriptions and management groups, read through the Azure RBAC port,
// kept in a
// bounded, time-limited cache so that a busy sweep or an approver's inbox
// costs a few Graph calls, not one per line. Every mail, work note,
// message and command-line answer gets its names here, so there is one
// rule for how a person, a role or a group is named.
//
// A name that cannot be read (unknown object, Graph down or slow) falls
// back to the object id, marked as such: a name is never invented and a
// lookup never fails the work it describes.
package names

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Directory is what names reads: users, groups and role definitions.
type Directory interface {
	GetUser(ctx context.Context, id domain.ObjectID) (domain.User, error)
	domain.DirectoryNames
}

// Azure is what names reads of Azure Resource Manager: what people call
// a subscription or management group (domain.AzureRBAC has it).
type Azure interface {
	ScopeDisplayName(ctx context.Context, scope string) (string, error)
}

// Options bound the cache; zero values take the defaults.
type Options struct {
	// TTL is how long a name is kept (default 10 minutes): a renamed group
	// shows its new name after at most this long.
	TTL time.Duration
	// MissTTL is how long "no such object" is kept (default 1 minute).
	MissTTL time.Duration
	// MaxEntries bounds the cache (default 5000); the least recently used
	// entry goes first.
	MaxEntries int
	// Timeout bounds one directory lookup (default 3 seconds), so a slow
	// directory delays a message by at most this long before the id is shown.
	Timeout time.Duration
	// Now is the clock for expiry; nil is time.Now.
	Now func() time.Time
}

// Resolver names directory objects. It is safe for concurrent use.
type Resolver struct {
	dir   Directory
	azure Azure
	opts  Options

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     *list.List // front: most recently used
}

type entry struct {
	key     string
	user    domain.User
	name    string
	found   bool
	expires time.Time
}

// New builds a resolver on a directory and, for Azure role targets, Azure
// (nil: subscriptions and management groups are named by id).
func New(dir Directory, azure Azure, o Options) *Resolver {
	if o.TTL <= 0 {
		o.TTL = 10 * time.Minute
	}
	if o.MissTTL <= 0 {
		o.MissTTL = time.Minute
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 5000
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Resolver{dir: dir, azure: azure, opts: o, entries: map[string]*list.Element{}, lru: list.New()}
}

// User returns the user's directory entry as cached (Mail, Enabled and
// LastSignIn may be up to TTL old: for display only); ok is false when it
// could not be read.
func (r *Resolver) User(ctx context.Context, id domain.ObjectID) (domain.User, bool) {
	e := r.lookup(ctx, "u:"+string(id), func(ctx context.Context) (entry, error) {
		u, err := r.dir.GetUser(ctx, id)
		return entry{user: u, name: domain.PersonName(u)}, err
	})
	return e.user, e.found
}

// Person names a user: "Adam Admin (adam@contoso.example)", or the id
// marked "(name not found)".
func (r *Resolver) Person(ctx context.Context, id domain.ObjectID) string {
	if u, ok := r.User(ctx, id); ok {
		return domain.PersonName(u)
	}
	return domain.UnnamedUser(id)
}

// Principal names an assignment's principal: a person, or "group <name>".
func (r *Resolver) Principal(ctx context.Context, id domain.ObjectID, kind domain.PrincipalKind) string {
	if kind.IsGroup() {
		return "group " + r.Group(ctx, id)
	}
	return r.Person(ctx, id)
}

// DisplayName is a user's display name alone (else the UPN), for where the
// address would be noise (a greeting, a list of approvers); the id, marked,
// when it cannot be read.
func (r *Resolver) DisplayName(ctx context.Context, id domain.ObjectID) string {
	u, ok := r.User(ctx, id)
	switch {
	case ok && u.DisplayName != "":
		return u.DisplayName
	case ok && u.UserPrincipalName != "":
		return u.UserPrincipalName
	}
	return domain.UnnamedUser(id)
}

// Group names a group by its display name, or the id marked "(name not found)".
func (r *Resolver) Group(ctx context.Context, id domain.ObjectID) string {
	if n := r.groupName(ctx, id); n != "" {
		return n
	}
	return domain.UnnamedGroup(id)
}

// GroupName is a group's display name; ok is false when it cannot be read.
func (r *Resolver) GroupName(ctx context.Context, id domain.ObjectID) (name string, ok bool) {
	n := r.groupName(ctx, id)
	return n, n != ""
}

func (r *Resolver) groupName(ctx context.Context, id domain.ObjectID) string {
	e := r.lookup(ctx, "g:"+string(id), func(ctx context.Context) (entry, error) {
		g, err := r.dir.GetGroup(ctx, id)
		return entry{name: g.DisplayName}, err
	})
	return e.name
}

// Role names a directory role: built-in roles without a call, custom roles
// through the directory; the id marked "(name not found)" otherwise.
func (r *Resolver) Role(ctx context.Context, id domain.ObjectID) string {
	if n := r.roleName(ctx, id); n != "" {
		return n
	}
	return domain.UnnamedRole(id)
}

func (r *Resolver) roleName(ctx context.Context, id domain.ObjectID) string {
	if b, ok := domain.BuiltInRoleByID(id); ok {
		return b.DisplayName
	}
	e := r.lookup(ctx, "r:"+string(id), func(ctx context.Context) (entry, error) {
		d, err := r.dir.GetRoleDefinition(ctx, id)
		return entry{name: d.DisplayName}, err
	})
	return e.name
}

// Target names what a request or schedule is for: "Exchange
// Administrator", "member of group PAG-DEV-TEAM" (domain.NameTarget),
// "Reader at resource group rg-web (subscription Contoso Production)"
// (domain.AzureTargetName).
func (r *Resolver) Target(ctx context.Context, t domain.Target) string {
	if t.Kind == domain.TargetAzureRole { // Azure's built-in roles, named without the directory
		return domain.AzureTargetName(t, r.scopeName(ctx, domain.AzureScopeHead(t.ResourceScope)))
	}
	if t.Kind == domain.TargetGroup {
		return domain.NameTarget(t, r.groupName(ctx, t.GroupID))
	}
	return domain.NameTarget(t, r.roleName(ctx, t.RoleDefinitionID))
}

// scopeName is the display name of a subscription or management group;
// empty when it cannot be read, so the id shows.
func (r *Resolver) scopeName(ctx context.Context, head string) string {
	if r.azure == nil {
		return ""
	}
	e := r.lookup(ctx, "s:"+head, func(ctx context.Context) (entry, error) {
		n, err := r.azure.ScopeDisplayName(ctx, head)
		if domain.IsCode(err, domain.CodeForbidden) {
			// jitpim may not read it (no */read at the subscription):
			// that will not change in a minute, so it is kept as a miss.
			return entry{}, nil
		}
		return entry{name: n}, err
	})
	return e.name
}

// lookup answers from the cache, or asks the directory once and keeps the
// answer: a name for TTL, "not found" for MissTTL. Other errors are not
// kept, so the next message tries again.
func (r *Resolver) lookup(ctx context.Context, key string, fetch func(context.Context) (entry, error)) entry {
	if key[2:] == "" {
		return entry{}
	}
	now := r.opts.Now()
	r.mu.Lock()
	if el, ok := r.entries[key]; ok {
		e := el.Value.(*entry)
		if now.Before(e.expires) {
			r.lru.MoveToFront(el)
			r.mu.Unlock()
			return *e
		}
		r.lru.Remove(el)
		delete(r.entries, key)
	}
	r.mu.Unlock()

	cctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	e, err := fetch(cctx)
	cancel()
	switch {
	case err == nil && e.name != "":
		e.found, e.expires = true, now.Add(r.opts.TTL)
	case err == nil || domain.IsCode(err, domain.CodeNotFound):
		e = entry{expires: now.Add(r.opts.MissTTL)} // known, but nameless or gone
	default:
		return entry{}
	}
	e.key = key
	r.keep(e)
	return e
}

// keep stores an entry, replacing one under its key, and drops the least
// recently used beyond MaxEntries.
func (r *Resolver) keep(e entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.entries[e.key]; ok { // a concurrent lookup got there first
		r.lru.Remove(el)
	}
	r.entries[e.key] = r.lru.PushFront(&e)
	for r.lru.Len() > r.opts.MaxEntries {
		old := r.lru.Back()
		r.lru.Remove(old)
		delete(r.entries, old.Value.(*entry).key)
	}
}
