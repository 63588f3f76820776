package domain

import (
	"crypto/sha1" //nolint:gosec // RFC 4122 name-based UUIDs are defined over SHA-1; nothing here is secret
	"encoding/hex"
	"fmt"
	"strings"
)

// Azure built-in role definition ids: the same GUIDs in every tenant.
const (
	AzureRoleOwner                     ObjectID   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	AzureRoleContributor               ObjectID   = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	AzureRoleReader                    ObjectID   = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	AzureRoleUserAccessAdministrator   ObjectID   = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	AzureRoleRBACAdministrator         ObjectID   = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
	TargetAzureRole                    TargetKind = "azureRole"
	maxAzureScopeLength                           = 512
	azureManagementGroupScopePrefix               = "/providers/microsoft.management/managementgroups/"
	azureRoleAssignmentNamespaceString            = "3c1e8d52-7f0a-4b59-9a44-2f6a0f1e5d7b"
)

// AzureBuiltInRoles names the Azure built-in roles jitpim knows by name.
var AzureBuiltInRoles = []BuiltInRole{
	{ID: AzureRoleOwner, DisplayName: "Owner", Privileged: true},
	{ID: AzureRoleContributor, DisplayName: "Contributor", Privileged: true},
	{ID: AzureRoleReader, DisplayName: "Reader"},
	{ID: AzureRoleUserAccessAdministrator, DisplayName: "User Access Administrator", Privileged: true},
	{ID: AzureRoleRBACAdministrator, DisplayName: "Role Based Access Control Administrator", Privileged: true},
}

// AzureBuiltInRoleByID finds an Azure built-in role by its definition id.
func AzureBuiltInRoleByID(id ObjectID) (BuiltInRole, bool) {
	for _, r := range AzureBuiltInRoles {
		if r.ID == id {
			return r, true
		}
	}
	return BuiltInRole{}, false
}

// AzureBuiltInRoleByName finds an Azure built-in role by name, ignoring case.
func AzureBuiltInRoleByName(name string) (BuiltInRole, bool) {
	for _, r := range AzureBuiltInRoles {
		if strings.EqualFold(r.DisplayName, strings.TrimSpace(name)) {
			return r, true
		}
	}
	return BuiltInRole{}, false
}

// AzureRoleTarget builds an Azure role target: a role definition at an
// Azure Resource Manager scope. The scope must be canonical (ParseAzureScope
// made it); Validate refuses one that is not.
func AzureRoleTarget(roleDefinitionID ObjectID, scope string) Target {
	return Target{Kind: TargetAzureRole, RoleDefinitionID: roleDefinitionID, ResourceScope: scope}
}

// ParseAzureScope reads an Azure Resource Manager scope given by a person or
// a caller (field names it in the refusal) into its one canonical spelling:
// lower case, no trailing slash. Azure compares scopes case-insensitively,
// so folding them makes == the right comparison for grant keys and
// inheritance. Accepted: a management group
// (/providers/Microsoft.Management/managementGroups/{id}), a subscription
// (/subscriptions/{guid}), a resource group (…/resourceGroups/{name}) and a
// resource (…/providers/{namespace}/{type}/{name}[/{type}/{name}…]).
// Anything else, including the root "/", is refused: jitpim manages access
// only below a scope someone named.
func ParseAzureScope(field, s string) (string, error) {
	bad := func(why string) (string, error) {
		return "", Invalid(field, "%s: want /subscriptions/{id}, /subscriptions/{id}/resourceGroups/{name}, "+
			"a resource id below it, or /providers/Microsoft.Management/managementGroups/{id}; got %q", why, clipForMessage(s))
	}
	if len(s) > maxAzureScopeLength {
		return bad("too long")
	}
	c := strings.ToLower(strings.TrimSuffix(s, "/"))
	if !strings.HasPrefix(c, "/") {
		return bad("must start with /")
	}
	segs := strings.Split(c[1:], "/")
	for _, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			return bad("empty or relative segment")
		}
		for _, r := range seg {
			if r <= ' ' || r == 0x7f || strings.ContainsRune("\\#?|%:\"'<>*&", r) {
				return bad("forbidden character")
			}
		}
	}
	if strings.HasPrefix(c, azureManagementGroupScopePrefix) {
		if len(segs) != 4 {
			return bad("a management group scope ends at its id")
		}
		return c, nil
	}
	if segs[0] != "subscriptions" || len(segs) < 2 || !IsGUID(segs[1]) {
		return bad("not a subscription or management group scope")
	}
	rest := segs[2:]
	if len(rest) == 0 {
		return c, nil
	}
	if rest[0] != "resourcegroups" || len(rest) < 2 {
		return bad("below a subscription comes resourceGroups/{name}")
	}
	rest = rest[2:]
	if len(rest) == 0 {
		return c, nil
	}
	// A resource: providers/{namespace}, then type/name pairs.
	if rest[0] != "providers" || len(rest) < 4 || len(rest[2:])%2 != 0 {
		return bad("a resource id is providers/{namespace}/{type}/{name}")
	}
	return c, nil
}

// AzureScopeCovers reports whether an assignment at parent applies at
// child: the same scope, or one above it on the path. (Management groups
// above a subscription are not on its path; the adapter reports those
// assignments with their own scope, and jitpim never removes them.)
func AzureScopeCovers(parent, child string) bool {
	return parent == child || strings.HasPrefix(child, parent+"/")
}

// AzureScopeName is the readable end of a scope: "resource group rg-web in
// subscription 1234…", for messages and mail.
func AzureScopeName(scope string) string {
	segs := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	switch {
	case strings.HasPrefix(scope, azureManagementGroupScopePrefix):
		return "management group " + segs[len(segs)-1]
	case len(segs) == 2:
		return "subscription " + segs[1]
	case len(segs) == 4:
		return "resource group " + segs[3] + " (subscription " + segs[1] + ")"
	}
	return "resource " + segs[len(segs)-1] + " (" + scope + ")"
}

// AzureScopeHead is the subscription or management group a canonical
// scope lies in (the scope itself when it is one): the part of a scope
// Azure keeps a display name for. Resource groups and resources are named
// by their ids already.
func AzureScopeHead(scope string) string {
	segs := strings.SplitN(strings.TrimPrefix(scope, "/"), "/", 5)
	switch {
	case strings.HasPrefix(scope, azureManagementGroupScopePrefix) && len(segs) >= 4:
		return "/" + strings.Join(segs[:4], "/")
	case len(segs) >= 2 && segs[0] == "subscriptions":
		return "/" + segs[0] + "/" + segs[1]
	}
	return ""
}

// AzureScopeNamed is AzureScopeName with the display name of the scope's
// subscription or management group (AzureScopeHead) in place of its id:
// "resource group rg-web (subscription Contoso Production)". An empty
// headName keeps the id.
func AzureScopeNamed(scope, headName string) string {
	if headName == "" {
		return AzureScopeName(scope)
	}
	segs := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	switch {
	case strings.HasPrefix(scope, azureManagementGroupScopePrefix):
		return "management group " + headName
	case len(segs) == 2:
		return "subscription " + headName
	case len(segs) == 4:
		return "resource group " + segs[3] + " (subscription " + headName + ")"
	}
	return "resource " + segs[len(segs)-1] + " (" + scope + ", subscription " + headName + ")"
}

// AzureTargetName names an Azure role target given the display name of its
// scope's subscription or management group (empty: the id shows).
func AzureTargetName(t Target, headName string) string {
	name := string(t.RoleDefinitionID)
	if r, ok := AzureBuiltInRoleByID(t.RoleDefinitionID); ok {
		name = r.DisplayName
	}
	return name + " at " + AzureScopeNamed(t.ResourceScope, headName)
}

// AzureAssignmentName is the name (a GUID, as Azure requires) of the role
// assignment jitpim makes for principal on t. It is derived, not random, so
// that a retried grant finds its own assignment instead of making a second
// one, and a revoke deletes exactly the assignment jitpim made: never one
// made outside jitpim, and never one inherited from a parent scope.
func AzureAssignmentName(principal ObjectID, t Target) string {
	return nameUUID(azureRoleAssignmentNamespaceString, string(principal)+"|"+t.Key())
}

// nameUUID is an RFC 4122 version 5 (SHA-1, name-based) UUID.
func nameUUID(namespace, name string) string {
	ns, err := hex.DecodeString(strings.ReplaceAll(namespace, "-", ""))
	if err != nil || len(ns) != 16 {
		panic("domain: bad UUID namespace " + namespace)
	}
	h := sha1.New() //nolint:gosec // RFC 4122 version 5
	h.Write(ns)
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
