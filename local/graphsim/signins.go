package graphsim

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

type signIn struct {
	SignIn
	at time.Time
}

func (st *state) addSignIn(si SignIn, now time.Time) signIn {
	at := now
	if si.CreatedDateTime != nil {
		at = si.CreatedDateTime.UTC()
	} else if si.HoursAgo != nil {
		at = now.Add(-time.Duration(*si.HoursAgo * float64(time.Hour))).UTC()
	}
	if si.ID == "" {
		si.ID = uuid.NewString()
	}
	if si.AppDisplayName == "" {
		si.AppDisplayName = "Microsoft Entra admin center"
	}
	if si.IPAddress == "" {
		si.IPAddress = "203.0.113.10"
	}
	if si.ClientAppUsed == "" {
		si.ClientAppUsed = "Browser"
	}
	if si.ConditionalAccessStatus == "" {
		si.ConditionalAccessStatus = "success"
		if si.ErrorCode != 0 {
			si.ConditionalAccessStatus = "notApplied"
		}
	}
	x := signIn{SignIn: si, at: at}
	st.signIns = append(st.signIns, x)
	return x
}

// signInActivity derives the user's signInActivity from the sign-in log:
// last interactive attempt, last non-interactive one, last success.
func (st *state) signInActivity(userID string) any {
	var inter, non, succ *signIn
	for i := range st.signIns {
		x := &st.signIns[i]
		if !strings.EqualFold(x.UserID, userID) {
			continue
		}
		interactive := x.IsInteractive == nil || *x.IsInteractive
		if interactive && (inter == nil || x.at.After(inter.at)) {
			inter = x
		}
		if !interactive && (non == nil || x.at.After(non.at)) {
			non = x
		}
		if x.ErrorCode == 0 && (succ == nil || x.at.After(succ.at)) {
			succ = x
		}
	}
	if inter == nil && non == nil && succ == nil {
		return nil
	}
	// Graph fills what never happened with the zero date or an empty
	// string rather than null (see the List users documentation); clients
	// must cope with both.
	pair := func(x *signIn, never string) (any, any) {
		if x == nil {
			return never, ""
		}
		return graphTime(x.at), x.ID
	}
	o := obj{}
	o["lastSignInDateTime"], o["lastSignInRequestId"] = pair(inter, "0001-01-01T00:00:00Z")
	o["lastNonInteractiveSignInDateTime"], o["lastNonInteractiveSignInRequestId"] = pair(non, "0001-01-01T00:00:00Z")
	o["lastSuccessfulSignInDateTime"], o["lastSuccessfulSignInRequestId"] = pair(succ, "")
	return o
}

func (st *state) signInObj(x *signIn) obj {
	upn, name := "", ""
	if u := st.user(x.UserID); u != nil {
		upn, name = u.UserPrincipalName, u.DisplayName
	}
	interactive := x.IsInteractive == nil || *x.IsInteractive
	var reason any
	if x.ErrorCode != 0 {
		reason = x.FailureReason
		if x.FailureReason == "" {
			reason = "Other."
		}
	}
	return obj{
		"id":                      x.ID,
		"createdDateTime":         graphTime(x.at),
		"userDisplayName":         name,
		"userPrincipalName":       upn,
		"userId":                  x.UserID,
		"appId":                   "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
		"appDisplayName":          x.AppDisplayName,
		"ipAddress":               x.IPAddress,
		"clientAppUsed":           x.ClientAppUsed,
		"correlationId":           x.ID,
		"conditionalAccessStatus": x.ConditionalAccessStatus,
		"isInteractive":           interactive,
		"riskDetail":              "none",
		"riskLevelAggregated":     "none",
		"riskLevelDuringSignIn":   "none",
		"riskState":               "none",
		"riskEventTypes":          []string{},
		"riskEventTypes_v2":       []string{},
		"resourceDisplayName":     "Microsoft Graph",
		"resourceId":              "00000003-0000-0000-c000-000000000000",
		"status":                  obj{"errorCode": x.ErrorCode, "failureReason": reason, "additionalDetails": nil},
		"deviceDetail": obj{
			"deviceId": "", "displayName": nil, "operatingSystem": "Windows 10", "browser": "Edge 120.0.0",
			"isCompliant": nil, "isManaged": nil, "trustType": nil,
		},
		"location": obj{
			"city": strOrNil(x.City), "state": nil, "countryOrRegion": strOrNil(x.CountryOrRegion),
			"geoCoordinates": obj{"altitude": nil, "latitude": nil, "longitude": nil},
		},
		"appliedConditionalAccessPolicies": []any{},
	}
}

func (s *Server) routeSignIns(r *http.Request, st *state, seg []string) (int, obj, *graphError) {
	if r.Method != http.MethodGet {
		return 0, nil, methodNotAllowed()
	}
	// The sign-in log is newest first.
	idx := make([]int, len(st.signIns))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return st.signIns[idx[a]].at.After(st.signIns[idx[b]].at) })
	if len(seg) > 0 && seg[0] != "" {
		for _, i := range idx {
			if st.signIns[i].ID == seg[0] {
				o := st.signInObj(&st.signIns[i])
				o["@odata.context"] = contextURL(r, "auditLogs/signIns/$entity", nil)
				return http.StatusOK, o, nil
			}
		}
		return 0, nil, errNotFound(seg[0])
	}
	var items []obj
	for _, i := range idx {
		items = append(items, st.signInObj(&st.signIns[i]))
	}
	return s.listObjects(r, "auditLogs/signIns", items)
}
