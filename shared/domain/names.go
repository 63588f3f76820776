package domain

import "context"

// Group is a directory group as jitpim shows it to people.
type Group struct {
	ID          ObjectID
	DisplayName string
	// IsAssignableToRole is fixed when the group is created in Entra: only
	// such a group can hold a directory role.
	IsAssignableToRole bool
}

// RoleDefinition is a directory role (built-in or custom) as jitpim shows
// it to people.
type RoleDefinition struct {
	ID          ObjectID
	DisplayName string
	IsBuiltIn   bool
}

// DirectoryNames reads what people call directory objects, for mails, work
// notes, messages and the command line. Each lookup fails with
// CodeNotFound for an id that names no such object.
type DirectoryNames interface {
	GetGroup(ctx context.Context, id ObjectID) (Group, error)
	GetRoleDefinition(ctx context.Context, id ObjectID) (RoleDefinition, error)
}

// PersonName is how jitpim names a person to people: the display name,
// with the user principal name where it differs ("Adam Admin
// (adam@contoso.example)"). A user the directory could not name is named
// by object id, marked so a reader sees the name is missing.
func PersonName(u User) string {
	switch {
	case u.DisplayName != "" && u.UserPrincipalName != "" && u.UserPrincipalName != u.DisplayName:
		return u.DisplayName + " (" + u.UserPrincipalName + ")"
	case u.DisplayName != "":
		return u.DisplayName
	case u.UserPrincipalName != "":
		return u.UserPrincipalName
	}
	return UnnamedUser(u.ID)
}

// UnnamedUser names a user whose name could not be read: visibly an id.
func UnnamedUser(id ObjectID) string { return "user " + string(id) + " (name not found)" }

// UnnamedGroup names a group whose name could not be read.
func UnnamedGroup(id ObjectID) string { return "group " + string(id) + " (name not found)" }

// UnnamedRole names a role whose name could not be read.
func UnnamedRole(id ObjectID) string { return "role " + string(id) + " (name not found)" }

// NameTarget is how jitpim names a target to people, given the role's or
// the group's display name: "Exchange Administrator", "Exchange
// Administrator at /administrativeUnits/…", "member of group PAG-DEV-TEAM".
// An empty name falls back to the id, visibly.
func NameTarget(t Target, name string) string {
	if t.Kind == TargetGroup {
		if name == "" {
			name = string(t.GroupID) + " (name not found)"
		}
		return t.AccessID + " of group " + name
	}
	if name == "" {
		name = UnnamedRole(t.RoleDefinitionID)
	}
	if t.DirectoryScopeID != TenantScope && t.DirectoryScopeID != "" {
		name += " at " + t.DirectoryScopeID
	}
	return name
}
