package portal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// renewableRows are My roles' rows for eligibilities that ran out and may
// still be renewed (domain.Schedule.Renewable), for targets rows does not
// already show.
func (p *Portal) renewableRows(v *visit, shown map[string]*roleRow) ([]roleRow, error) {
	list, err := p.eng.RenewableEligibilities(v.r.Context(), v.call)
	if err != nil {
		return nil, err
	}
	var out []roleRow
	for _, s := range list {
		k := s.Target.Key()
		if shown[k] != nil {
			continue
		}
		name, kind := p.targetName(v.r.Context(), s.Target)
		out = append(out, roleRow{Name: name, Kind: kind, TargetKey: k, ExpiredAt: at(s.End),
			Needs: "renewal, decided by an administrator", RenewURL: Prefix + "renew?target=" + url.QueryEscape(k)})
	}
	return out, nil
}

// renew asks an administrator to renew an eligibility that ran out
// (Entra's Renew, selfRenew): the form says when it ended; the request
// carries the person's reason, which the engine requires.
func (p *Portal) renew(v *visit) {
	pg := p.base(v)
	form := v.r.URL.Query()
	if v.r.Method == http.MethodPost {
		form = v.r.PostForm
	}
	t, err := domain.ParseTargetKey(form.Get("target"))
	if err != nil {
		p.fail(v.w, pg, domain.Invalid("target", "is not a role or group this portal offers"))
		return
	}
	ctx := v.r.Context()
	name, kind := p.targetName(ctx, t)
	if v.r.Method != http.MethodPost {
		list, err := p.eng.RenewableEligibilities(ctx, v.call)
		if err != nil {
			p.fail(v.w, pg, err)
			return
		}
		f := &extendForm{Name: name, Kind: kind, TargetKey: t.Key(), CSRF: p.web.CSRFToken(v.sess, "renew"), Renew: true}
		for _, s := range list {
			if s.Target == t {
				f.Expired = at(s.End)
			}
		}
		if f.Expired == nil {
			p.fail(v.w, pg, domain.Errorf(domain.CodeNotFound, "you have no eligibility for %s that ran out recently enough to renew", name))
			return
		}
		pg.Title, pg.Extend = "Renew "+name, f
		p.render(v.w, http.StatusOK, pg)
		return
	}
	req, ok := p.askAdmin(v, pg, domain.ActionSelfRenew, t, form.Get("justification"))
	if !ok {
		return
	}
	pg.Title, pg.Message = "Renewal asked", "Your request to renew "+name+" is "+p.outcomeWords(v, req)+"."
	p.render(v.w, http.StatusOK, pg)
}

// askAdmin submits the person's selfExtend or selfRenew of the
// eligibility t, with their reason, for an administrator to decide. false
// means it was refused, and the page already says why.
func (p *Portal) askAdmin(v *visit, pg page, action domain.Action, t domain.Target, justification string) (domain.Request, bool) {
	ctx := v.r.Context()
	req, err := p.eng.Submit(ctx, v.call, engine.Submission{Kind: domain.KindEligibility, Action: action,
		PrincipalID: v.sess.ObjectID, Target: t, Justification: strings.TrimSpace(justification)})
	p.eng.FlushMail(ctx, v.call)
	if err != nil {
		p.fail(v.w, pg, err)
		return req, false
	}
	v.call.Log.Info("asked an administrator through the portal", "action", action, "request_id", req.ID, "status", req.Status)
	return req, true
}
