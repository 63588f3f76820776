package domain

// PrincipalKind tells what an assignment's principal is. Entra assigns
// directory roles to users and to role-assignable groups; jitpim learns
// which from the directory once, when a request arrives, and keeps the
// answer with the request, its schedule and its review items.
type PrincipalKind string

// The principal kinds. The zero value is a user: every request stored
// before groups could be principals was a user's.
const (
	PrincipalUser  PrincipalKind = ""
	PrincipalGroup PrincipalKind = "group"
)

// IsGroup reports whether the principal is a group.
func (k PrincipalKind) IsGroup() bool { return k == PrincipalGroup }

// Word names the kind in messages and on the wire ("User", "Group"), as
// Graph and ARM spell principalType.
func (k PrincipalKind) Word() string {
	if k.IsGroup() {
		return "Group"
	}
	return "User"
}

// CheckGroupPrincipal is the rule for a group as a principal, Entra's:
// only a directory role can be given to a group, only a group created
// role-assignable (isAssignableToRole) can hold one, and only an
// administrator acts for a group: a group has no sign-in, so it never
// activates, extends or renews by itself. An eligible group's eligibility
// is turned into access by an administrator's adminAssign of an active
// assignment; the people in the group get the role by activating their
// membership of the group (PIM for Groups).
func CheckGroupPrincipal(g Group, t Target, a Action) error {
	if t.Kind != TargetRole {
		return Invalid("principalId", "%s is a group: jitpim gives groups directory roles only, not group membership or Azure roles", GroupName(g))
	}
	if !g.IsAssignableToRole {
		return Invalid("principalId", "%s is not a role-assignable group (isAssignableToRole is false): Entra gives directory roles only to groups created role-assignable", GroupName(g))
	}
	if !a.IsAdmin() {
		return Invalid("principalId", "%s is a group: a group cannot %s; an administrator assigns the group's role (adminAssign), and people activate their membership of the group", GroupName(g), a)
	}
	return nil
}

// GroupName is how jitpim names a group to people: "group <display name>",
// or its id when the directory gave none.
func GroupName(g Group) string {
	if g.DisplayName != "" {
		return "group " + g.DisplayName
	}
	return "group " + string(g.ID)
}
