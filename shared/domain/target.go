package domain

import (
	"fmt"
	"strings"
)

// Well-known Entra built-in role template ids.
const (
	RoleGlobalAdministrator         ObjectID   = "62e90394-69f5-4237-9190-012177145e10"
	RolePrivilegedRoleAdministrator ObjectID   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	TenantScope                                = "/"
	AccessMember                               = "member"
	AccessOwner                                = "owner"
	TargetRole                      TargetKind = "role"
	TargetGroup                     TargetKind = "group"
)

// TargetKind tells a directory role from a privileged access group and
// from an Azure resource role.
type TargetKind string

// Target is what privileged access is granted to: a directory role at a scope,
// membership/ownership of a group ("PIM for groups"), or an Azure role
// definition at an Azure Resource Manager scope ("PIM for Azure resources").
type Target struct {
	Kind             TargetKind
	RoleDefinitionID ObjectID // directory or Azure role definition
	DirectoryScopeID string
	GroupID          ObjectID
	AccessID         string
	// ResourceScope is an Azure role's scope, canonical (ParseAzureScope).
	ResourceScope string
}

// RoleTarget builds a directory role target; an empty scope means the tenant.
func RoleTarget(roleDefinitionID ObjectID, scope string) Target {
	if scope == "" {
		scope = TenantScope
	}
	return Target{Kind: TargetRole, RoleDefinitionID: roleDefinitionID, DirectoryScopeID: scope}
}

// GroupTarget builds a group membership or ownership target.
func GroupTarget(groupID ObjectID, accessID string) Target {
	return Target{Kind: TargetGroup, GroupID: groupID, AccessID: strings.ToLower(accessID)}
}

// Key identifies the target in indexes. It never contains '|'.
func (t Target) Key() string {
	switch t.Kind {
	case TargetGroup:
		return "group:" + string(t.GroupID) + ":" + t.AccessID
	case TargetAzureRole:
		return "azureRole:" + string(t.RoleDefinitionID) + ":" + t.ResourceScope
	}
	return "role:" + string(t.RoleDefinitionID) + ":" + t.DirectoryScopeID
}

// ParseTargetKey is the inverse of Key.
func ParseTargetKey(k string) (Target, error) {
	kind, rest, ok := strings.Cut(k, ":")
	if !ok {
		return Target{}, fmt.Errorf("bad target key %q", k)
	}
	a, b, ok := strings.Cut(rest, ":")
	if !ok {
		return Target{}, fmt.Errorf("bad target key %q", k)
	}
	switch TargetKind(kind) {
	case TargetRole:
		return RoleTarget(CanonicalID(a), b), nil
	case TargetGroup:
		return GroupTarget(CanonicalID(a), b), nil
	case TargetAzureRole:
		return AzureRoleTarget(CanonicalID(a), b), nil
	}
	return Target{}, fmt.Errorf("bad target key %q", k)
}

func (t Target) String() string {
	switch t.Kind {
	case TargetGroup:
		return fmt.Sprintf("group %s (%s)", t.GroupID, t.AccessID)
	case TargetAzureRole:
		return fmt.Sprintf("Azure role %s at %s", t.RoleDefinitionID, t.ResourceScope)
	}
	return fmt.Sprintf("role %s at %s", t.RoleDefinitionID, t.DirectoryScopeID)
}

// Validate checks the target's identifiers.
func (t Target) Validate() error {
	switch t.Kind {
	case TargetRole:
		if !t.RoleDefinitionID.Valid() {
			return Invalid("roleDefinitionId", "must be a role definition id (a GUID), got %q", t.RoleDefinitionID)
		}
		if !strings.HasPrefix(t.DirectoryScopeID, "/") || strings.ContainsAny(t.DirectoryScopeID, "|\\#?") {
			return Invalid("directoryScopeId", "must be \"/\" or a path such as \"/administrativeUnits/{id}\", got %q", t.DirectoryScopeID)
		}
	case TargetGroup:
		if !t.GroupID.Valid() {
			return Invalid("groupId", "must be a group object id (a GUID), got %q", t.GroupID)
		}
		if t.AccessID != AccessMember && t.AccessID != AccessOwner {
			return Invalid("accessId", "must be \"member\" or \"owner\", got %q", t.AccessID)
		}
	case TargetAzureRole:
		if !t.RoleDefinitionID.Valid() {
			return Invalid("roleDefinitionId", "must be an Azure role definition id (a GUID), got %q", t.RoleDefinitionID)
		}
		if c, err := ParseAzureScope("scope", t.ResourceScope); err != nil {
			return err
		} else if c != t.ResourceScope {
			return Invalid("scope", "must be canonical (lower case, no trailing slash), got %q", t.ResourceScope)
		}
	default:
		return Invalid("target", "unknown target kind %q", t.Kind)
	}
	return nil
}

// IsGUID reports whether s has the 8-4-4-4-12 hex form of an Entra object id.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
