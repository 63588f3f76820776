package httpapi

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// queryRule lists the OData query options one route serves. On top of
// these, every GET serves $select, and every GET answering a collection
// serves $count. Any other query parameter is refused with 400 naming it:
// a client must never believe a filter, an order or a page size applied
// when it did not.
type queryRule struct {
	options []string // read by the route's handler, or by expandPIM
	expand  []string // the $expand values the route serves
	pim     bool     // principal, roleDefinition and group are expanded by expandPIM
	// pages: the handler answers the whole collection and $top/$skiptoken
	// page it here (the skip token is an offset).
	pages bool
}

// queryRuleFor is the one table of query options, by route pattern.
func queryRuleFor(pattern string) queryRule {
	method, path, _ := strings.Cut(pattern, " ")
	if method != http.MethodGet {
		return queryRule{}
	}
	for _, k := range []struct {
		prefix string
		set    resourceSet
	}{{rm, roleResources}, {pg, groupResources}} {
		rest, ok := strings.CutPrefix(path, k.prefix)
		if !ok {
			continue
		}
		name, item, _ := strings.Cut(rest, "/")
		set := k.set
		switch name {
		case set.eligibilityRequests, set.assignmentRequests, set.eligibilitySchedules, set.eligibilityInstances,
			set.assignmentSchedules, set.assignmentInstances:
			// The /{id} route also serves filterByCurrentUser(on=…), a collection.
			expand := []string{"principal", "roleDefinition"}
			if set.group {
				expand = []string{"principal", "group"}
			}
			return queryRule{options: []string{"$filter", "$top", "$skiptoken", "$expand"}, expand: expand, pim: true}
		case set.approvals:
			if set.group && item == "{id}" {
				return queryRule{options: []string{"$expand"}, expand: []string{"stages"}}
			}
			return queryRule{}
		}
	}
	const rma = "/api/identityGovernance/roleManagementAlerts/"
	switch path {
	case "/api/policies/roleManagementPolicies":
		return queryRule{options: []string{"$filter", "$expand"}, expand: []string{"rules"}, pages: true}
	case "/api/policies/roleManagementPolicies/{id}":
		return queryRule{options: []string{"$expand"}, expand: []string{"rules"}}
	case "/api/policies/roleManagementPolicies/{id}/rules", "/api/policies/roleManagementPolicies/{id}/rules/{rule}",
		rma + "alertDefinitions", rma + "alerts/{id}/alertIncidents",
		"/api/identityGovernance/accessReviews/definitions/{id}/instances",
		"/api/identityGovernance/accessReviews/definitions/{id}/instances/{iid}":
		return queryRule{pages: true} // pages only what is a collection
	case "/api/policies/roleManagementPolicyAssignments":
		return queryRule{options: []string{"$filter"}, pages: true}
	case rma + "alerts":
		return queryRule{options: []string{"$filter", "$expand"}, expand: []string{"alertIncidents", "alertDefinition"}, pages: true}
	case rma + "alerts/{id}":
		return queryRule{options: []string{"$expand"}, expand: []string{"alertIncidents", "alertDefinition"}}
	case "/api/auditLogs/directoryAudits":
		return queryRule{options: []string{"$top", "$skiptoken"}}
	case "/api/identityGovernance/accessReviews/definitions":
		return queryRule{options: []string{"$filter"}, pages: true} // $filter is refused by the handler with its reason
	case "/api/identityGovernance/accessReviews/definitions/{id}/instances/{iid}/decisions",
		"/api/identityGovernance/accessReviews/definitions/{id}/instances/{iid}/decisions/{did}":
		return queryRule{options: []string{"$filter", "$top", "$skiptoken"}}
	}
	return queryRule{}
}

// queryOptions is what a request asked for beyond the handler's own options.
type queryOptions struct {
	selected []string
	expand   []string
	count    bool
	top      int // rule.pages: 0 when absent
	skip     int // rule.pages: the offset in $skiptoken
}

// checkQuery refuses any query parameter the route does not serve, and
// $expand values it cannot expand, before anything runs.
func checkQuery(r *http.Request, rule queryRule) (queryOptions, error) {
	var q queryOptions
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, domain.Invalid("query", "cannot be read: %v", err)
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		v := values.Get(k)
		switch {
		case k == "$select" && r.Method == http.MethodGet:
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					q.selected = append(q.selected, p)
				}
			}
			if len(q.selected) == 0 {
				return q, domain.Invalid("$select", "names no property")
			}
		case k == "$count" && r.Method == http.MethodGet:
			switch strings.ToLower(v) {
			case "true":
				q.count = true
			case "false":
			default:
				return q, domain.Invalid("$count", "must be true or false, got %q", v)
			}
		case rule.pages && k == "$top":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 999 {
				return q, domain.Invalid("$top", "must be a number from 1 to 999")
			}
			q.top = n
		case rule.pages && k == "$skiptoken":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return q, domain.Invalid("$skiptoken", "is not a skip token this collection gave out")
			}
			q.skip = n
		case slices.Contains(rule.options, k):
			if k != "$expand" {
				continue
			}
			for _, e := range strings.Split(v, ",") {
				e = strings.TrimSpace(e)
				i := slices.IndexFunc(rule.expand, func(x string) bool { return strings.EqualFold(x, e) })
				if i < 0 {
					return q, domain.Invalid("$expand", "cannot expand %q here; supported: %s", e, strings.Join(rule.expand, ", "))
				}
				q.expand = append(q.expand, rule.expand[i])
			}
		default:
			supported := append([]string(nil), rule.options...)
			if rule.pages {
				supported = append(supported, "$top", "$skiptoken")
			}
			if r.Method == http.MethodGet {
				supported = append(supported, "$select", "$count")
			}
			if len(supported) == 0 {
				return q, domain.Invalid(k, "query option %s is not supported on %s %s", k, r.Method, r.URL.Path)
			}
			return q, domain.Invalid(k, "query option %s is not supported on %s %s; supported: %s", k, r.Method, r.URL.Path, strings.Join(supported, ", "))
		}
	}
	return q, nil
}

// shape applies $expand (for PIM resources), $count and $select to a
// handler's answer. h and r let $count list the remaining pages. It returns
// body unchanged when nothing was asked.
func (s *Server) shape(ctx context.Context, c *engine.Call, r *http.Request, h handlerFunc, rule queryRule, q queryOptions, body any) (any, error) {
	col, isCollection := asCollection(body)
	total := -1
	if rule.pages && isCollection {
		all := reflect.ValueOf(col.Value)
		total = all.Len()
		if q.top > 0 || q.skip > 0 {
			from, to := min(q.skip, total), total
			if q.top > 0 {
				to = min(from+q.top, total)
			}
			col = collection{Context: col.Context, Value: all.Slice(from, to).Interface()}
			if to < total {
				col.NextLink = nextLink(r, strconv.Itoa(to))
			}
			body = col
		}
	}
	if !isCollection {
		// Routes that serve one resource and a collection (…/{id} and
		// filterByCurrentUser) would otherwise ignore these on the resource.
		for _, k := range []string{"$filter", "$top", "$skiptoken", "$count"} {
			if r.URL.Query().Has(k) {
				return nil, domain.Invalid(k, "applies to collections only")
			}
		}
	}
	if len(q.selected) == 0 && !q.count && !(rule.pim && len(q.expand) > 0) {
		return body, nil
	}
	var props []string
	if len(q.selected) > 0 {
		props = jsonProperties(body)
		if props == nil {
			return nil, domain.Invalid("$select", "is not supported on this resource")
		}
		for _, p := range q.selected {
			if !slices.Contains(props, p) {
				return nil, domain.Invalid("$select", "%q is not a property of this resource", p)
			}
		}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	items := []map[string]any{generic}
	if isCollection {
		items = nil
		for _, v := range generic["value"].([]any) {
			if m, ok := v.(map[string]any); ok {
				items = append(items, m)
			}
		}
	}
	if rule.pim && len(q.expand) > 0 {
		s.expandPIM(ctx, c, items, q.expand)
	}
	if len(q.selected) > 0 {
		keep := append(q.selected, "id")
		keep = append(keep, q.expand...)
		for _, it := range items {
			for k := range it {
				if !slices.Contains(keep, k) && !strings.HasPrefix(k, "@odata.") {
					delete(it, k)
				}
			}
		}
	}
	if q.count {
		n := total
		if n < 0 {
			var err error
			if n, err = s.countAll(ctx, c, r, h, col); err != nil {
				return nil, err
			}
		}
		generic["@odata.count"] = n
	}
	return generic, nil
}

func asCollection(body any) (collection, bool) {
	switch b := body.(type) {
	case collection:
		return b, true
	case *collection:
		return *b, b != nil
	}
	return collection{}, false
}

// countAll counts the whole collection, every page from the first, as
// Graph's @odata.count does whichever page carries it. It follows
// $skiptoken through the same handler: jitpim keeps no counters, so
// $count=true costs a full listing.
func (s *Server) countAll(ctx context.Context, c *engine.Call, r *http.Request, h handlerFunc, current collection) (int, error) {
	skip := r.URL.Query().Get("$skiptoken")
	n, next := 0, ""
	if skip == "" {
		n, next = reflect.ValueOf(current.Value).Len(), current.NextLink
	} else {
		next = "?$skiptoken=" // start again from the first page
	}
	for pages := 0; next != ""; pages++ {
		if pages > 1000 {
			return 0, domain.Errorf(domain.CodeInvalid, "$count: the collection has more than 1,000 pages; narrow it with $filter")
		}
		u, err := url.Parse(next)
		if err != nil {
			return 0, err
		}
		q := r.URL.Query()
		if tok := u.Query().Get("$skiptoken"); tok != "" {
			q.Set("$skiptoken", tok)
		} else {
			q.Del("$skiptoken")
		}
		pr := r.Clone(ctx)
		pr.URL.RawQuery = q.Encode()
		_, body, err := h(ctx, c, pr)
		if err != nil {
			return 0, err
		}
		col, ok := asCollection(body)
		if !ok {
			return 0, domain.Errorf(domain.CodeInternal, "$count: a page is not a collection")
		}
		n += reflect.ValueOf(col.Value).Len()
		next = col.NextLink
	}
	return n, nil
}

// jsonProperties lists the JSON property names of a resource, or of the
// elements of a collection, from its Go type; nil when the type does not
// say (maps, interfaces), so that $select is refused rather than guessed.
func jsonProperties(body any) []string {
	t := reflect.TypeOf(body)
	if col, ok := asCollection(body); ok {
		t = reflect.TypeOf(col.Value)
		if t == nil || t.Kind() != reflect.Slice {
			return nil
		}
		t = t.Elem()
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// expandPIM adds Graph's navigation properties to schedule requests,
// schedules and instances: principal (the user, read from the directory),
// roleDefinition (from the built-in role table; a custom role carries its
// id only) and group (its id only: jitpim reads no group names).
func (s *Server) expandPIM(ctx context.Context, c *engine.Call, items []map[string]any, expand []string) {
	users := map[string]map[string]any{}
	for _, it := range items {
		for _, e := range expand {
			switch e {
			case "principal":
				id, _ := it["principalId"].(string)
				if id == "" {
					continue
				}
				if _, ok := users[id]; !ok {
					users[id] = map[string]any{"@odata.type": "#microsoft.graph.directoryObject", "id": id}
					if u, err := s.eng.DescribeUser(ctx, c, domain.CanonicalID(id)); err == nil {
						users[id] = map[string]any{"@odata.type": "#microsoft.graph.user", "id": id,
							"displayName": u.DisplayName, "userPrincipalName": u.UserPrincipalName}
					}
				}
				it["principal"] = users[id]
			case "roleDefinition":
				id, _ := it["roleDefinitionId"].(string)
				def := map[string]any{"id": id}
				if role, ok := domain.BuiltInRoleByID(domain.CanonicalID(id)); ok {
					def = map[string]any{"id": id, "displayName": role.DisplayName, "templateId": role.ID, "isBuiltIn": true}
				} else if name := s.eng.Names().Role(ctx, domain.CanonicalID(id)); name != domain.UnnamedRole(domain.CanonicalID(id)) {
					def = map[string]any{"id": id, "displayName": name, "templateId": id, "isBuiltIn": false}
				}
				it["roleDefinition"] = def
			case "group":
				id, _ := it["groupId"].(string)
				g := map[string]any{"@odata.type": "#microsoft.graph.group", "id": id}
				if name, ok := s.eng.Names().GroupName(ctx, domain.CanonicalID(id)); ok {
					g["displayName"] = name
				}
				it["group"] = g
			}
		}
	}
}
