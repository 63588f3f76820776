// Package alert holds jitpim's PIM alerts: their definitions and settings,
// the one write path that stores incidents (Alarms, also the domain.Alarm
// the request engine and access reviews raise through), the daily scan, the
// break-glass check and the admin API over them.
package alert

import (
	"context"
	"fmt"
	"slices"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/engine"
)

// Service is the alert API, the daily alert scan and the break-glass
// check. Findings are stored through Alarms; removals of outside
// assignments go through the engine's normal revoke path.
type Service struct {
	eng        *engine.Engine
	alarms     *Alarms
	alerts     domain.AlertStore
	store      domain.Store
	dir        domain.Directory
	reader     domain.DirectoryReader
	signIns    domain.SignInLog
	azure      domain.AzureRBAC
	breakGlass domain.BreakGlass
	settings   Settings
}

// Deps are the service's collaborators. Reader and SignIns may be nil: the
// scan needs the reader, the break-glass check the sign-in log.
type Deps struct {
	Engine    *engine.Engine
	Alarms    *Alarms
	Store     domain.Store
	Directory domain.Directory
	Reader    domain.DirectoryReader
	SignIns   domain.SignInLog
	// Azure, when set, has the scan report Azure role assignments made
	// outside jitpim at the scopes jitpim manages.
	Azure domain.AzureRBAC
}

// New builds the service. Settings must be valid (Settings.Validate); zero
// fields take the defaults.
func New(d Deps, s Settings) *Service {
	return &Service{eng: d.Engine, alarms: d.Alarms, alerts: d.Alarms.alerts, store: d.Store, dir: d.Directory,
		reader: d.Reader, signIns: d.SignIns, azure: d.Azure, breakGlass: d.Engine.Config().BreakGlass, settings: s.withDefaults()}
}

func (svc *Service) alertsOn() error {
	if svc.alerts == nil {
		return domain.Errorf(domain.CodeNotFound, "alerts are off: this deployment has no alert store")
	}
	return nil
}

// ListAlerts returns one alert per definition, admins only. Definitions
// never scanned or raised come back inactive with no scan time.
func (svc *Service) ListAlerts(ctx context.Context, c *engine.Call) ([]domain.Alert, error) {
	if err := svc.eng.RequireAdmin(ctx, c, "reading alerts"); err != nil {
		return nil, err
	}
	if err := svc.alertsOn(); err != nil {
		return nil, err
	}
	stored, err := svc.alerts.ListAlerts(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]domain.Alert{}
	for _, a := range stored {
		byID[a.ID] = a
	}
	out := make([]domain.Alert, 0, len(Definitions))
	for _, d := range Definitions {
		a, ok := byID[d.ID]
		if !ok {
			a = domain.Alert{ID: d.ID, DefinitionID: d.ID, Severity: d.Severity}
		}
		out = append(out, a)
	}
	return out, nil
}

// GetAlert returns one alert with its incidents, admins only.
func (svc *Service) GetAlert(ctx context.Context, c *engine.Call, id string) (domain.Alert, error) {
	if err := svc.eng.RequireAdmin(ctx, c, "reading alerts"); err != nil {
		return domain.Alert{}, err
	}
	if err := svc.alertsOn(); err != nil {
		return domain.Alert{}, err
	}
	d, ok := DefinitionByID(id)
	if !ok {
		return domain.Alert{}, domain.Errorf(domain.CodeNotFound, "alert %s does not exist", id)
	}
	a, err := svc.alerts.GetAlert(ctx, id)
	if domain.IsCode(err, domain.CodeNotFound) {
		return domain.Alert{ID: d.ID, DefinitionID: d.ID, Severity: d.Severity}, nil
	}
	return a, err
}

// ListAlertDefinitions returns the definitions, admins only.
func (svc *Service) ListAlertDefinitions(ctx context.Context, c *engine.Call) ([]Definition, error) {
	if err := svc.eng.RequireAdmin(ctx, c, "reading alert definitions"); err != nil {
		return nil, err
	}
	return slices.Clone(Definitions), nil
}

// DismissAlert marks an alert dismissed by the caller, an admin: it stays
// inactive, incidents and all, until a scan finds a new incident.
func (svc *Service) DismissAlert(ctx context.Context, c *engine.Call, id string) error {
	if err := svc.eng.RequireAdminWrite(ctx, c, "dismissing an alert"); err != nil {
		return err
	}
	if err := svc.alertsOn(); err != nil {
		return err
	}
	if _, ok := DefinitionByID(id); !ok {
		return domain.Errorf(domain.CodeNotFound, "alert %s does not exist", id)
	}
	changed := false
	var count int
	err := engine.Retry(func() error {
		a, err := svc.alerts.GetAlert(ctx, id)
		if domain.IsCode(err, domain.CodeNotFound) {
			return nil // never raised: nothing to dismiss
		} else if err != nil {
			return err
		}
		if !a.DismissedAt.IsZero() {
			return nil
		}
		a.DismissedBy, a.DismissedAt, a.IsActive, a.LastModified = c.Caller.ID, c.Now, false, c.Now
		if err := svc.alerts.PutAlert(ctx, &a); err != nil {
			return engine.Stale(err)
		}
		changed, count = true, a.IncidentCount
		return nil
	})
	if err != nil {
		return err
	}
	if changed {
		if err := svc.eng.Audit(ctx, c, domain.AuditRecord{Action: "alert.dismiss", Category: "Governance",
			Details: map[string]string{"alert_id": id, "incident_count": fmt.Sprint(count)}}); err != nil {
			return err
		}
	}
	return nil
}

// RefreshAlert runs now, for an admin, the check that feeds an alert: the
// break-glass check for the break-glass alerts, the alert scan for the
// others (all of them; id "" runs both).
func (svc *Service) RefreshAlert(ctx context.Context, c *engine.Call, id string) error {
	if err := svc.eng.RequireAdminWrite(ctx, c, "refreshing alerts"); err != nil {
		return err
	}
	if err := svc.alertsOn(); err != nil {
		return err
	}
	if id != "" {
		if _, ok := DefinitionByID(id); !ok {
			return domain.Errorf(domain.CodeNotFound, "alert %s does not exist", id)
		}
	}
	bg := id == domain.AlertBreakGlassSignIn || id == domain.AlertBreakGlassMisconfig
	var err error
	if id == "" || bg {
		_, err = svc.CheckBreakGlass(ctx, c)
	}
	if id == "" || !bg {
		if _, serr := svc.ScanAlerts(ctx, c); err == nil {
			err = serr
		}
	}
	return err
}
