package domain

import "strings"

// BuiltInRole is an Entra built-in directory role: its template id is the
// same in every tenant.
type BuiltInRole struct {
	ID          ObjectID
	DisplayName string
	Privileged  bool // marked privileged by Microsoft
}

// BuiltInRoles lists the Entra built-in roles jitpim names in mails, policy
// files and alerts. Custom roles are used by id.
var BuiltInRoles = []BuiltInRole{
	{"62e90394-69f5-4237-9190-012177145e10", "Global Administrator", true},
	{"e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator", true},
	{"7be44c8a-adaf-4e2a-84d6-ab2649e08a13", "Privileged Authentication Administrator", true},
	{"194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator", true},
	{"b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Conditional Access Administrator", true},
	{"c4e39bd9-1100-46d3-8c65-fb160da0071f", "Authentication Administrator", true},
	{"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator", true},
	{"158c047a-c907-4556-b7ef-446551a6b5f7", "Cloud Application Administrator", true},
	{"8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2", "Hybrid Identity Administrator", true},
	{"fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator", true},
	{"729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator", true},
	{"966707d0-3269-4727-9be2-8c3a10f19b9d", "Password Administrator", true},
	{"29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator", false},
	{"f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator", false},
	{"3a2c62db-5318-420d-8d74-23affee5d9d5", "Intune Administrator", true},
	{"69091246-20e8-4a56-aa4d-066075b2a7a8", "Teams Administrator", false},
	{"fdd7a751-b60b-444a-984c-02652fe8fa1c", "Groups Administrator", false},
	{"17315797-102d-40b4-93e0-432062caca18", "Compliance Administrator", false},
	{"b0f54661-2d74-4c50-afa3-1ec803f12efe", "Billing Administrator", false},
	{"4d6ac14f-3453-41d0-bef9-a3e0c569773a", "License Administrator", false},
	{"5f2222b1-57c3-48ba-8ad5-d4759f1fde6f", "Security Operator", true},
	{"5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader", true},
	{"f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader", true},
	{"4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader", false},
	{"88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Directory Readers", false},
	{"cf1c38e5-3621-4004-a7cb-879624dced7c", "Application Developer", true},
	{"f023fd81-a637-4b56-95fd-791ac0226033", "Service Support Administrator", false},
	{"7698a772-787b-4ac8-901f-60d6b08affd2", "Cloud Device Administrator", true},
	{"e3973bdf-4987-49ae-837a-ba8e231c7286", "Azure DevOps Administrator", false},
	{"31392ffb-586c-42d1-9346-e59415a2cc4e", "Exchange Recipient Administrator", false},
	{"baf37b3a-610e-45da-9e62-d9d1e5e8914b", "Teams Communications Administrator", false},
	{"11648597-926c-4cf3-9c36-bcebb0ba8dcc", "Power Platform Administrator", false},
	{"44367163-eba1-44c3-98af-f5787879f96a", "Dynamics 365 Administrator", false},
	{"45d8d3c5-c802-45c6-b32a-1d70b5e1e86e", "Identity Governance Administrator", false},
}

// BuiltInRoleByID finds a built-in role by template id.
func BuiltInRoleByID(id ObjectID) (BuiltInRole, bool) {
	for _, r := range BuiltInRoles {
		if r.ID == id {
			return r, true
		}
	}
	return BuiltInRole{}, false
}

// BuiltInRoleByName finds a built-in role by display name, ignoring case.
func BuiltInRoleByName(name string) (BuiltInRole, bool) {
	for _, r := range BuiltInRoles {
		if strings.EqualFold(r.DisplayName, strings.TrimSpace(name)) {
			return r, true
		}
	}
	return BuiltInRole{}, false
}

// TargetName is a readable name for a target.
func TargetName(t Target) string {
	if t.Kind == TargetGroup {
		return t.AccessID + " of group " + string(t.GroupID)
	}
	if t.Kind == TargetAzureRole {
		return AzureTargetName(t, "")
	}
	name := string(t.RoleDefinitionID)
	if r, ok := BuiltInRoleByID(t.RoleDefinitionID); ok {
		name = r.DisplayName
	}
	if t.DirectoryScopeID != TenantScope {
		name += " at " + t.DirectoryScopeID
	}
	return name
}
