package graphsim

import (
	"net/http"
	"net/url"
	"strings"
)

func groupObj(g *Group) obj {
	types := g.GroupTypes
	if types == nil {
		types = []string{}
	}
	return obj{
		"id":                 g.ID,
		"deletedDateTime":    nil,
		"description":        strOrNil(g.Description),
		"displayName":        g.DisplayName,
		"groupTypes":         types,
		"isAssignableToRole": g.IsAssignableToRole,
		"mail":               nil,
		"mailEnabled":        g.MailEnabled,
		"mailNickname":       g.MailNickname,
		"securityEnabled":    g.SecurityEnabled,
		"visibility":         nil,
	}
}

func (s *Server) routeGroups(r *http.Request, st *state, seg []string, body []byte) (int, obj, *graphError) {
	if len(seg) == 0 || seg[0] == "" {
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		var items []obj
		for _, g := range st.groups {
			items = append(items, groupObj(g))
		}
		return s.listObjects(r, "groups", items)
	}
	g := st.group(seg[0])
	if g == nil {
		return 0, nil, errNotFound(seg[0])
	}
	if len(seg) == 1 {
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		sel := selectList(r.URL.Query())
		o := project(groupObj(g), sel, nil)
		o["@odata.context"] = contextURL(r, "groups/$entity", sel)
		return http.StatusOK, o, nil
	}
	var list *[]string
	switch seg[1] {
	case "members":
		list = &g.Members
	case "owners":
		list = &g.Owners
	case "transitiveMembers":
		if len(seg) > 3 {
			return 0, nil, segmentNotFound(strings.Join(seg[1:], "/"))
		}
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		return s.listMembers(r, st, st.transitiveMembers(g.ID), seg[2:])
	default:
		return 0, nil, segmentNotFound(seg[1])
	}
	switch {
	case len(seg) == 2 || (len(seg) == 3 && strings.Contains(seg[2], "graph.")):
		// GET /groups/{id}/members[/microsoft.graph.user]
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		return s.listMembers(r, st, *list, seg[2:])
	case len(seg) == 3 && seg[2] == "$ref":
		switch r.Method {
		case http.MethodPost:
			return s.addRef(st, g, seg[1], list, body)
		case http.MethodDelete: // DELETE /groups/{id}/members/$ref?$id=...
			id := refID(r.URL.Query().Get("$id"))
			if id == "" {
				return 0, nil, errBadRequest("Request_BadRequest", "The $id query option is required.")
			}
			return s.removeRef(list, id)
		}
		return 0, nil, methodNotAllowed()
	case len(seg) == 4 && seg[3] == "$ref":
		if r.Method != http.MethodDelete {
			return 0, nil, methodNotAllowed()
		}
		return s.removeRef(list, seg[2])
	}
	return 0, nil, segmentNotFound(strings.Join(seg[1:], "/"))
}

// transitiveMembers lists the users and groups in a group, directly or
// through nested groups, each once.
func (st *state) transitiveMembers(groupID string) []string {
	seen := map[string]bool{strings.ToLower(groupID): true}
	var out []string
	queue := []string{groupID}
	for len(queue) > 0 {
		g := st.group(queue[0])
		queue = queue[1:]
		if g == nil {
			continue
		}
		for _, m := range g.Members {
			k := strings.ToLower(m)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, m)
			if st.group(m) != nil {
				queue = append(queue, m)
			}
		}
	}
	return out
}

// listMembers answers a member listing; cast is empty or the one segment
// after it (microsoft.graph.user or microsoft.graph.group), which keeps
// only that type and lets $select name its properties.
func (s *Server) listMembers(r *http.Request, st *state, ids []string, cast []string) (int, obj, *graphError) {
	typ := ""
	if len(cast) == 1 {
		// The Go SDK writes the cast as graph.user, the documentation as
		// microsoft.graph.user; Graph takes both.
		switch strings.TrimPrefix(cast[0], "microsoft.") {
		case "graph.user":
			typ = "microsoft.graph.user"
		case "graph.group":
			typ = "microsoft.graph.group"
		default:
			return 0, nil, segmentNotFound(cast[0])
		}
	}
	sel := selectList(r.URL.Query())
	if s.denySignI && hasSelected(sel, "signInActivity") {
		return 0, nil, forbiddenSignInActivity()
	}
	var items []obj
	for _, id := range ids {
		if u := st.user(id); u != nil && (typ == "" || typ == "microsoft.graph.user") {
			o := st.userObj(u)
			if typ == "" {
				o["@odata.type"] = "#microsoft.graph.user"
			}
			items = append(items, o)
		} else if g := st.group(id); g != nil && (typ == "" || typ == "microsoft.graph.group") {
			o := groupObj(g)
			if typ == "" {
				o["@odata.type"] = "#microsoft.graph.group"
			}
			items = append(items, o)
		}
	}
	q := r.URL.Query()
	clauses, err := parseFilter(q.Get("$filter"))
	if err != nil {
		return 0, nil, asGraphError(err)
	}
	items = filterObjects(items, clauses)
	pg, next, gerr := page(r, items, s.opts.PageSize)
	if gerr != nil {
		return 0, nil, gerr
	}
	out := make([]obj, len(pg))
	for i, o := range pg {
		defaults := []string(nil)
		if _, isUser := o["userPrincipalName"]; isUser {
			defaults = userDefaults
		}
		out[i] = project(o, sel, defaults)
	}
	fragment := "directoryObjects"
	switch typ {
	case "microsoft.graph.user":
		fragment = "users"
	case "microsoft.graph.group":
		fragment = "groups"
	}
	return http.StatusOK, collection(r, fragment, sel, out, next), nil
}

// refID takes the object id out of an @odata.id such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id} or .../users('{id}').
func refID(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	if u, err := url.Parse(ref); err == nil && u.Path != "" {
		ref = u.Path
	}
	ref = strings.TrimSuffix(ref, "/")
	last := ref[strings.LastIndex(ref, "/")+1:]
	if i := strings.Index(last, "('"); i >= 0 && strings.HasSuffix(last, "')") {
		last = last[i+2 : len(last)-2]
	}
	return last
}

func (s *Server) addRef(st *state, g *Group, prop string, list *[]string, body []byte) (int, obj, *graphError) {
	var in map[string]any
	if gerr := decodeBody(body, &in); gerr != nil {
		return 0, nil, gerr
	}
	var ref string
	for k, v := range in {
		if strings.EqualFold(k, "@odata.id") {
			ref, _ = v.(string)
		}
	}
	id := refID(ref)
	if id == "" {
		return 0, nil, errBadRequest("Request_BadRequest", "Invalid object identifier '%s'.", ref)
	}
	u, mg := st.user(id), st.group(id)
	if u == nil && mg == nil {
		return 0, nil, errNotFound(id)
	}
	if mg != nil {
		if prop == "owners" {
			return 0, nil, errBadRequest("Request_BadRequest", "A group cannot be an owner of a group.")
		}
		if g.IsAssignableToRole || mg.IsAssignableToRole {
			return 0, nil, errBadRequest("Request_BadRequest", "Role-assignable groups cannot be nested.")
		}
		if strings.EqualFold(mg.ID, g.ID) {
			return 0, nil, errBadRequest("Request_BadRequest", "A group cannot be a member of itself.")
		}
	}
	if indexOf(*list, id) >= 0 {
		return 0, nil, errBadRequest("Request_BadRequest", "One or more added object references already exist for the following modified properties: '%s'.", prop)
	}
	var canonical string
	if u != nil {
		canonical = u.ID
	} else {
		canonical = mg.ID
	}
	*list = append(*list, canonical)
	return http.StatusNoContent, nil, nil
}

func (s *Server) removeRef(list *[]string, id string) (int, obj, *graphError) {
	i := indexOf(*list, id)
	if i < 0 {
		return 0, nil, errNotFound(id)
	}
	*list = append((*list)[:i], (*list)[i+1:]...)
	return http.StatusNoContent, nil, nil
}
