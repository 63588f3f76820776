package graphsim

import (
	"fmt"
	"net/http"
	"strings"
)

var userDefaults = []string{"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}

func (st *state) userObj(u *User) obj {
	return obj{
		"id":                u.ID,
		"businessPhones":    []any{},
		"displayName":       u.DisplayName,
		"givenName":         strOrNil(u.GivenName),
		"surname":           strOrNil(u.Surname),
		"jobTitle":          strOrNil(u.JobTitle),
		"mail":              strOrNil(u.Mail),
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
		"userPrincipalName": u.UserPrincipalName,
		"accountEnabled":    u.AccountEnabled,
		"userType":          u.UserType,
		"signInActivity":    st.signInActivity(u.ID),
	}
}

func (st *state) directoryObject(id string) obj {
	if u := st.user(id); u != nil {
		o := project(st.userObj(u), nil, userDefaults)
		o["@odata.type"] = "#microsoft.graph.user"
		return o
	}
	if g := st.group(id); g != nil {
		o := groupObj(g)
		o["@odata.type"] = "#microsoft.graph.group"
		return o
	}
	return nil
}

func (s *Server) listUsers(r *http.Request, st *state) (int, obj, *graphError) {
	q := r.URL.Query()
	sel := selectList(q)
	clauses, err := parseFilter(q.Get("$filter"))
	if err != nil {
		return 0, nil, asGraphError(err)
	}
	if s.denySignI && (hasSelected(sel, "signInActivity") || strings.Contains(strings.ToLower(q.Get("$filter")), "signinactivity")) {
		return 0, nil, forbiddenSignInActivity()
	}
	var all []obj
	for _, u := range st.users {
		all = append(all, st.userObj(u))
	}
	all = filterObjects(all, clauses)
	pg, next, gerr := page(r, all, min(s.opts.PageSize, 999))
	if gerr != nil {
		return 0, nil, gerr
	}
	out := make([]obj, len(pg))
	for i, o := range pg {
		out[i] = project(o, sel, userDefaults)
	}
	return http.StatusOK, collection(r, "users", sel, out, next), nil
}

func forbiddenSignInActivity() *graphError {
	return &graphError{http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}
}

func (s *Server) routeUsers(r *http.Request, st *state, seg []string, body []byte) (int, obj, *graphError) {
	if len(seg) == 0 || seg[0] == "" {
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		return s.listUsers(r, st)
	}
	u := st.user(seg[0])
	if len(seg) == 2 && seg[1] == "sendMail" {
		if r.Method != http.MethodPost {
			return 0, nil, methodNotAllowed()
		}
		if u == nil {
			return 0, nil, &graphError{http.StatusNotFound, "ErrorInvalidUser", fmt.Sprintf("The requested user '%s' is invalid.", seg[0])}
		}
		return s.sendMail(st, u, body)
	}
	if u == nil {
		return 0, nil, errNotFound(seg[0])
	}
	if len(seg) == 1 {
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		sel := selectList(r.URL.Query())
		if s.denySignI && hasSelected(sel, "signInActivity") {
			return 0, nil, forbiddenSignInActivity()
		}
		o := project(st.userObj(u), sel, userDefaults)
		o["@odata.context"] = contextURL(r, "users/$entity", sel)
		return http.StatusOK, o, nil
	}
	switch seg[1] {
	case "manager":
		if r.Method != http.MethodGet || len(seg) > 2 {
			return 0, nil, methodNotAllowed()
		}
		m := st.user(u.Manager)
		if u.Manager == "" || m == nil {
			return 0, nil, errNotFound("manager")
		}
		sel := selectList(r.URL.Query())
		o := project(st.userObj(m), sel, userDefaults)
		o["@odata.type"] = "#microsoft.graph.user"
		o["@odata.context"] = contextURL(r, "directoryObjects/$entity", sel)
		return http.StatusOK, o, nil
	case "checkMemberGroups":
		if r.Method != http.MethodPost {
			return 0, nil, methodNotAllowed()
		}
		return checkMemberGroups(r, st, u.ID, body)
	case "memberOf", "transitiveMemberOf":
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed()
		}
		var groups []*Group
		if seg[1] == "memberOf" {
			for _, g := range st.groups {
				if indexOf(g.Members, u.ID) >= 0 {
					groups = append(groups, g)
				}
			}
		} else {
			groups = st.transitiveGroups(u.ID)
		}
		var items []obj
		for _, g := range groups {
			o := groupObj(g)
			o["@odata.type"] = "#microsoft.graph.group"
			items = append(items, o)
		}
		return s.listObjects(r, "directoryObjects", items)
	}
	return 0, nil, segmentNotFound(seg[1])
}

// countUsers answers GET /users/$count as Graph does: a plain-text number,
// only with the ConsistencyLevel: eventual header (an advanced query);
// without it, 400.
func (s *Server) countUsers(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, methodNotAllowed(), s.opts.Now())
		return
	}
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual") {
		writeError(w, errBadRequest("Request_BadRequest", "Count is not currently supported."), s.opts.Now())
		return
	}
	s.mu.Lock()
	n := len(s.st.users)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "%d", n)
}

// checkMemberGroups answers which of the given groups id is a transitive
// member of (POST .../checkMemberGroups).
func checkMemberGroups(r *http.Request, st *state, id string, body []byte) (int, obj, *graphError) {
	var in struct {
		GroupIDs []string `json:"groupIds"`
	}
	if gerr := decodeBody(body, &in); gerr != nil {
		return 0, nil, gerr
	}
	if len(in.GroupIDs) == 0 || len(in.GroupIDs) > 20 {
		return 0, nil, errBadRequest("Request_BadRequest", "groupIds must hold between 1 and 20 group ids.")
	}
	member := map[string]string{}
	for _, g := range st.transitiveGroups(id) {
		member[strings.ToLower(g.ID)] = g.ID
	}
	out := []string{}
	for _, gid := range in.GroupIDs {
		if canon, ok := member[strings.ToLower(gid)]; ok {
			out = append(out, canon)
		}
	}
	return http.StatusOK, obj{"@odata.context": contextURL(r, "Collection(Edm.String)", nil), "value": out}, nil
}

// transitiveGroups lists the groups id is a member of, directly or through
// nested groups, in tenant order.
func (st *state) transitiveGroups(id string) []*Group {
	seen := map[string]bool{}
	frontier := []string{strings.ToLower(id)}
	for len(frontier) > 0 {
		cur := frontier[0]
		frontier = frontier[1:]
		for _, g := range st.groups {
			k := strings.ToLower(g.ID)
			if !seen[k] && indexOf(g.Members, cur) >= 0 {
				seen[k] = true
				frontier = append(frontier, k)
			}
		}
	}
	var out []*Group
	for _, g := range st.groups {
		if seen[strings.ToLower(g.ID)] {
			out = append(out, g)
		}
	}
	return out
}
