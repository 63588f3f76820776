package graphsim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// AssignmentID derives a role assignment id the way Entra does for
// assignments created through roleManagement: the role definition id and
// the principal id as little-endian GUID bytes, base64url, then "-1".
// Assignments at other scopes get 8 more bytes from the scope's hash.
// Ids that are not GUIDs get a random id.
func AssignmentID(roleDefinitionID, principalID, scope string) string {
	r, err1 := uuid.Parse(roleDefinitionID)
	p, err2 := uuid.Parse(principalID)
	if err1 != nil || err2 != nil {
		return uuid.NewString()
	}
	buf := append(guidBytes(r), guidBytes(p)...)
	if scope != "/" {
		h := sha256.Sum256([]byte(strings.ToLower(scope)))
		buf = append(buf, h[:8]...)
	}
	return base64.RawURLEncoding.EncodeToString(buf) + "-1"
}

func guidBytes(u uuid.UUID) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b[0:], binary.BigEndian.Uint32(u[0:4]))
	binary.LittleEndian.PutUint16(b[4:], binary.BigEndian.Uint16(u[4:6]))
	binary.LittleEndian.PutUint16(b[6:], binary.BigEndian.Uint16(u[6:8]))
	copy(b[8:], u[8:])
	return b
}

func assignObj(a *RoleAssignment) obj {
	return obj{
		"id":               a.ID,
		"principalId":      a.PrincipalID,
		"roleDefinitionId": a.RoleDefinitionID,
		"directoryScopeId": a.DirectoryScopeID,
		"resourceScope":    a.DirectoryScopeID,
		"appScopeId":       nil,
		"condition":        nil,
	}
}

func roleDefObj(d *RoleDefinition) obj {
	return obj{
		"id":              d.ID,
		"description":     d.Description,
		"displayName":     d.DisplayName,
		"isBuiltIn":       d.IsBuiltIn,
		"isEnabled":       true,
		"isPrivileged":    d.IsPrivileged,
		"resourceScopes":  []string{"/"},
		"templateId":      d.ID,
		"version":         "1",
		"rolePermissions": []any{},
	}
}

func (s *Server) routeAssignments(r *http.Request, st *state, seg []string, body []byte) (int, obj, *graphError) {
	if len(seg) == 0 || seg[0] == "" {
		switch r.Method {
		case http.MethodGet:
			var items []obj
			expand := strings.Contains(strings.ToLower(r.URL.Query().Get("$expand")), "principal")
			for _, a := range st.assigns {
				o := assignObj(a)
				if expand {
					o["principal"] = st.directoryObject(a.PrincipalID)
				}
				items = append(items, o)
			}
			return s.listObjects(r, "roleManagement/directory/roleAssignments", items)
		case http.MethodPost:
			return s.createAssignment(r, st, body)
		}
		return 0, nil, methodNotAllowed()
	}
	idx := -1
	for i, a := range st.assigns {
		if a.ID == seg[0] {
			idx = i
		}
	}
	if idx < 0 {
		return 0, nil, errNotFound(seg[0])
	}
	if len(seg) > 1 {
		return 0, nil, segmentNotFound(seg[1])
	}
	switch r.Method {
	case http.MethodGet:
		o := assignObj(st.assigns[idx])
		o["@odata.context"] = contextURL(r, "roleManagement/directory/roleAssignments/$entity", nil)
		return http.StatusOK, o, nil
	case http.MethodDelete:
		st.assigns = append(st.assigns[:idx], st.assigns[idx+1:]...)
		return http.StatusNoContent, nil, nil
	}
	return 0, nil, methodNotAllowed()
}

func (s *Server) createAssignment(r *http.Request, st *state, body []byte) (int, obj, *graphError) {
	var in struct {
		PrincipalID      string  `json:"principalId"`
		RoleDefinitionID string  `json:"roleDefinitionId"`
		DirectoryScopeID *string `json:"directoryScopeId"`
		AppScopeID       *string `json:"appScopeId"`
	}
	if gerr := decodeBody(body, &in); gerr != nil {
		return 0, nil, gerr
	}
	if in.DirectoryScopeID == nil || *in.DirectoryScopeID == "" {
		if in.AppScopeID != nil && *in.AppScopeID != "" {
			return 0, nil, errBadRequest("Request_BadRequest", "App-scoped role assignments are not simulated.")
		}
		return 0, nil, errBadRequest("Request_BadRequest", "Either directoryScopeId or appScopeId must be specified.")
	}
	scope := *in.DirectoryScopeID
	if in.PrincipalID == "" {
		return 0, nil, errBadRequest("Request_BadRequest", "Invalid value specified for property 'principalId' of resource 'UnifiedRoleAssignment'.")
	}
	u, g := st.user(in.PrincipalID), st.group(in.PrincipalID)
	if u == nil && g == nil {
		return 0, nil, errBadRequest("Request_BadRequest", "Invalid principal '%s': the object does not exist.", in.PrincipalID)
	}
	if g != nil && !g.IsAssignableToRole {
		return 0, nil, errBadRequest("Request_BadRequest", "Group '%s' is not role-assignable (isAssignableToRole is false).", g.ID)
	}
	d := st.roleDef(in.RoleDefinitionID)
	if d == nil {
		return 0, nil, errBadRequest("Request_BadRequest", "Invalid value specified for property 'roleDefinitionId' of resource 'UnifiedRoleAssignment'.")
	}
	var principal string
	if u != nil {
		principal = u.ID
	} else {
		principal = g.ID
	}
	for _, a := range st.assigns {
		if strings.EqualFold(a.PrincipalID, principal) && strings.EqualFold(a.RoleDefinitionID, d.ID) && strings.EqualFold(a.DirectoryScopeID, scope) {
			return 0, nil, errBadRequest("Request_BadRequest", "A conflicting object with one or more of the specified property values is present in the directory.")
		}
	}
	a := &RoleAssignment{ID: AssignmentID(d.ID, principal, scope), PrincipalID: principal, RoleDefinitionID: d.ID, DirectoryScopeID: scope}
	st.assigns = append(st.assigns, a)
	o := assignObj(a)
	o["@odata.context"] = contextURL(r, "roleManagement/directory/roleAssignments/$entity", nil)
	return http.StatusCreated, o, nil
}

func (s *Server) routeRoleDefs(r *http.Request, st *state, seg []string) (int, obj, *graphError) {
	if r.Method != http.MethodGet {
		return 0, nil, methodNotAllowed()
	}
	if len(seg) == 0 || seg[0] == "" {
		var items []obj
		for i := range st.roleDefs {
			items = append(items, roleDefObj(&st.roleDefs[i]))
		}
		return s.listObjects(r, "roleManagement/directory/roleDefinitions", items)
	}
	d := st.roleDef(seg[0])
	if d == nil || len(seg) > 1 {
		return 0, nil, errNotFound(seg[0])
	}
	o := roleDefObj(d)
	o["@odata.context"] = contextURL(r, "roleManagement/directory/roleDefinitions/$entity", nil)
	return http.StatusOK, o, nil
}
