package graphsim

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Tenant is the seed of a simulated Entra tenant, as stored in a tenant
// file such as local/demo/tenant.json. Times may be given absolutely or
// relative to the moment the simulator starts (or is reset), so a demo
// tenant keeps its "signed in 3 days ago" facts whenever it is run.
type Tenant struct {
	TenantID        string           `json:"tenantId"`
	DisplayName     string           `json:"displayName,omitempty"`
	Domain          string           `json:"domain,omitempty"`
	Users           []User           `json:"users"`
	Groups          []Group          `json:"groups"`
	RoleDefinitions []RoleDefinition `json:"roleDefinitions"`
	RoleAssignments []RoleAssignment `json:"roleAssignments"`
	SignIns         []SignIn         `json:"signIns,omitempty"`
}

// User is a seeded user account.
type User struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	GivenName         string `json:"givenName,omitempty"`
	Surname           string `json:"surname,omitempty"`
	Mail              string `json:"mail,omitempty"`
	JobTitle          string `json:"jobTitle,omitempty"`
	AccountEnabled    bool   `json:"accountEnabled"`
	UserType          string `json:"userType,omitempty"` // Member (default) or Guest
	Manager           string `json:"manager,omitempty"`  // the manager's object id (GET /users/{id}/manager)
	Notes             string `json:"notes,omitempty"`    // documentation only
}

// Group is a seeded group. Members and Owners hold object ids of users or
// (members only) other groups, which makes membership transitive.
type Group struct {
	ID                 string   `json:"id"`
	DisplayName        string   `json:"displayName"`
	Description        string   `json:"description,omitempty"`
	MailNickname       string   `json:"mailNickname,omitempty"`
	SecurityEnabled    bool     `json:"securityEnabled"`
	MailEnabled        bool     `json:"mailEnabled"`
	IsAssignableToRole bool     `json:"isAssignableToRole"`
	GroupTypes         []string `json:"groupTypes,omitempty"`
	Members            []string `json:"members,omitempty"`
	Owners             []string `json:"owners,omitempty"`
	Notes              string   `json:"notes,omitempty"`
}

// RoleDefinition is an Entra role definition; for built-in roles the id is
// the role template id.
type RoleDefinition struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	Description  string `json:"description,omitempty"`
	IsBuiltIn    bool   `json:"isBuiltIn"`
	IsPrivileged bool   `json:"isPrivileged"`
}

// RoleAssignment is an active directory role assignment. An empty ID is
// derived the way Entra derives it for tenant-wide assignments.
type RoleAssignment struct {
	ID               string `json:"id,omitempty"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
	Notes            string `json:"notes,omitempty"`
}

// SignIn is one sign-in event. Give CreatedDateTime, or HoursAgo relative
// to the simulator's start. ErrorCode 0 is a successful sign-in.
type SignIn struct {
	ID                      string     `json:"id,omitempty"`
	UserID                  string     `json:"userId"`
	CreatedDateTime         *time.Time `json:"createdDateTime,omitempty"`
	HoursAgo                *float64   `json:"hoursAgo,omitempty"`
	AppDisplayName          string     `json:"appDisplayName,omitempty"`
	IPAddress               string     `json:"ipAddress,omitempty"`
	ClientAppUsed           string     `json:"clientAppUsed,omitempty"`
	IsInteractive           *bool      `json:"isInteractive,omitempty"` // default true
	ErrorCode               int        `json:"errorCode,omitempty"`
	FailureReason           string     `json:"failureReason,omitempty"`
	ConditionalAccessStatus string     `json:"conditionalAccessStatus,omitempty"`
	City                    string     `json:"city,omitempty"`
	CountryOrRegion         string     `json:"countryOrRegion,omitempty"`
}

// LoadTenant reads and validates a tenant file.
func LoadTenant(path string) (Tenant, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Tenant{}, err
	}
	var t Tenant
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Tenant{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := t.Validate(); err != nil {
		return Tenant{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Validate checks ids are unique and every reference resolves.
func (t Tenant) Validate() error {
	ids := map[string]string{}
	add := func(kind, id string) error {
		if id == "" {
			return fmt.Errorf("a %s has no id", kind)
		}
		k := strings.ToLower(id)
		if prev, ok := ids[k]; ok {
			return fmt.Errorf("id %s is used by a %s and a %s", id, prev, kind)
		}
		ids[k] = kind
		return nil
	}
	upns := map[string]bool{}
	for _, u := range t.Users {
		if err := add("user", u.ID); err != nil {
			return err
		}
		if u.UserPrincipalName == "" {
			return fmt.Errorf("user %s has no userPrincipalName", u.ID)
		}
		k := strings.ToLower(u.UserPrincipalName)
		if upns[k] {
			return fmt.Errorf("userPrincipalName %s is used twice", u.UserPrincipalName)
		}
		upns[k] = true
	}
	for _, g := range t.Groups {
		if err := add("group", g.ID); err != nil {
			return err
		}
	}
	roles := map[string]bool{}
	for _, r := range t.RoleDefinitions {
		if r.ID == "" {
			return fmt.Errorf("a role definition has no id")
		}
		roles[strings.ToLower(r.ID)] = true
	}
	for _, u := range t.Users {
		if u.Manager != "" && ids[strings.ToLower(u.Manager)] != "user" {
			return fmt.Errorf("user %s: manager %s is not a user", u.UserPrincipalName, u.Manager)
		}
	}
	for _, g := range t.Groups {
		for _, m := range g.Members {
			if ids[strings.ToLower(m)] == "" {
				return fmt.Errorf("group %s: member %s does not exist", g.DisplayName, m)
			}
		}
		for _, o := range g.Owners {
			if ids[strings.ToLower(o)] != "user" {
				return fmt.Errorf("group %s: owner %s is not a user", g.DisplayName, o)
			}
		}
	}
	for _, a := range t.RoleAssignments {
		if ids[strings.ToLower(a.PrincipalID)] == "" {
			return fmt.Errorf("role assignment: principal %s does not exist", a.PrincipalID)
		}
		if !roles[strings.ToLower(a.RoleDefinitionID)] {
			return fmt.Errorf("role assignment: role definition %s does not exist", a.RoleDefinitionID)
		}
		if a.DirectoryScopeID == "" {
			return fmt.Errorf("role assignment for %s: directoryScopeId is required", a.PrincipalID)
		}
	}
	for _, s := range t.SignIns {
		if ids[strings.ToLower(s.UserID)] != "user" {
			return fmt.Errorf("sign-in: user %s does not exist", s.UserID)
		}
		if s.CreatedDateTime == nil && s.HoursAgo == nil {
			return fmt.Errorf("sign-in of %s: give createdDateTime or hoursAgo", s.UserID)
		}
	}
	return nil
}
