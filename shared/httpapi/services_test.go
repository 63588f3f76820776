package httpapi_test

import (
	"log/slog"

	"github.com/jitpim/jitpim/shared/alert"
	"github.com/jitpim/jitpim/shared/approvallink"
	"github.com/jitpim/jitpim/shared/engine"
	"github.com/jitpim/jitpim/shared/fakedir"
	"github.com/jitpim/jitpim/shared/httpapi"
	"github.com/jitpim/jitpim/shared/memstore"
	"github.com/jitpim/jitpim/shared/notices"
	"github.com/jitpim/jitpim/shared/policy"
	"github.com/jitpim/jitpim/shared/review"
)

// services wires the request engine, alerts and access reviews over one
// memory store and fake directory the way functions/main.go does; links
// may be nil (mails go without links).
type services struct {
	eng      *engine.Engine
	policies *policy.Service
	alerts   *alert.Service
	reviews  *review.Service
}

func newServices(store *memstore.Store, dir *fakedir.Dir, cfg engine.Config, links *approvallink.Links) services {
	k := engine.NewKernel(store, dir, nil, nil, cfg)
	alarms := alert.NewAlarms(k, store, slog.New(slog.DiscardHandler))
	var reviewLinks review.Links
	var mailLinks notices.Links
	if links != nil {
		reviewLinks, mailLinks = links, links
	}
	eng := engine.New(k, engine.Deps{Alarm: alarms, Notices: notices.New(k, store, nil, mailLinks)})
	return services{eng: eng, policies: policy.New(eng, store),
		alerts: alert.New(alert.Deps{Engine: eng, Alarms: alarms, Store: store, Directory: dir, Reader: dir, SignIns: dir}, alert.Settings{}),
		reviews: review.New(review.Deps{Engine: eng, Reviews: store, Store: store, Directory: dir, Reader: dir, SignIns: dir,
			Alarm: alarms, Links: reviewLinks})}
}

func (s services) api() httpapi.Services {
	return httpapi.Services{Engine: s.eng, Policies: s.policies, Reviews: s.reviews, Alerts: s.alerts}
}
