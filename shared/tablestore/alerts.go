package tablestore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/jitpim/jitpim/shared/domain"
)

// The Alerts table holds one entity per alert definition in one partition:
// there are about ten, and ListAlerts reads them all. Incidents (at most
// domain.MaxAlertIncidents) are stored as UTF-8 JSON in Edm.Binary
// properties of at most 60,000 bytes each (one property holds 64 KiB):
// binary counts bytes where strings count UTF-16 (non-Latin text would
// take twice the room), and travels base64-encoded, so a multi-byte
// character is never split across the request body's network chunks
// (Azurite 3.35 corrupts such characters in bodies over 64 KiB).
const alertPK = "alert"

const (
	alertChunk    = 60000     // bytes of incident JSON in one property
	maxAlertBytes = 900 << 10 // incident JSON in one alert, below the 1 MiB entity limit
)

var _ domain.AlertStore = (*Store)(nil)

func (s *Store) alertsTable() error {
	if s.alerts == nil {
		return domain.Errorf(domain.CodeInternal, "tablestore: the Alerts table is not set up")
	}
	return nil
}

func alertProps(a *domain.Alert) *props {
	p := newProps()
	p.str("Id", a.ID)
	p.str("DefinitionId", a.DefinitionID)
	p.str("Severity", a.Severity)
	p.boolean("IsActive", a.IsActive)
	p.i32("IncidentCount", a.IncidentCount)
	p.tm("FirstSeen", a.FirstSeen)
	p.tm("LastScanned", a.LastScanned)
	p.tm("LastModified", a.LastModified)
	p.id("DismissedBy", a.DismissedBy)
	p.tm("DismissedAt", a.DismissedAt)
	if a.Incidents != nil {
		b, err := json.Marshal(a.Incidents)
		if err != nil {
			p.fail(fmt.Errorf("tablestore: encoding incidents: %w", err))
			return p
		}
		if len(b) > maxAlertBytes {
			p.fail(domain.Invalid("incidents", "are %d KiB once stored; an alert holds at most %d KiB of incidents", len(b)>>10, maxAlertBytes>>10))
			return p
		}
		n := 0
		for ; len(b) > 0 || n == 0; n++ {
			k := min(len(b), alertChunk)
			p.m[fmt.Sprintf("Incidents%d", n)] = aztables.EDMBinary(b[:k])
			b = b[k:]
		}
		p.m["IncidentChunks"] = int32(n)
	}
	return p
}

func alertFrom(e entity) (domain.Alert, error) {
	rd := &reader{m: e.Props}
	a := domain.Alert{
		ID: rd.str("Id"), DefinitionID: rd.str("DefinitionId"), Severity: rd.str("Severity"), IsActive: rd.boolean("IsActive"),
		IncidentCount: rd.i32("IncidentCount"), FirstSeen: rd.tm("FirstSeen"), LastScanned: rd.tm("LastScanned"),
		LastModified: rd.tm("LastModified"), DismissedBy: rd.id("DismissedBy"), DismissedAt: rd.tm("DismissedAt"), Version: e.ETag,
	}
	if _, ok := e.Props["IncidentChunks"]; ok {
		var b []byte
		for i := range rd.i32("IncidentChunks") {
			name := fmt.Sprintf("Incidents%d", i)
			part, ok := e.Props[name].(aztables.EDMBinary)
			if !ok {
				return a, wrapDecode(fmt.Errorf("tablestore: incidents part %d is missing or not binary", i), "alert", a.ID)
			}
			b = append(b, part...)
		}
		a.Incidents = []domain.AlertIncident{}
		if err := json.Unmarshal(b, &a.Incidents); err != nil && rd.err == nil {
			rd.err = fmt.Errorf("tablestore: decoding incidents: %w", err)
		}
	}
	return a, wrapDecode(rd.err, "alert", a.ID)
}

// GetAlert implements domain.AlertStore.
func (s *Store) GetAlert(ctx context.Context, id string) (domain.Alert, error) {
	if err := s.alertsTable(); err != nil {
		return domain.Alert{}, err
	}
	rk := EscapeKey(id)
	if id == "" || checkKey("id", rk) != nil {
		return domain.Alert{}, domain.Errorf(domain.CodeNotFound, "alert %s does not exist", id)
	}
	e, err := s.get(ctx, s.alerts, alertPK, rk)
	if statusOf(err) == http.StatusNotFound {
		return domain.Alert{}, domain.Errorf(domain.CodeNotFound, "alert %s does not exist", id)
	}
	if err != nil {
		return domain.Alert{}, s.fail(err, "reading alert %s", id)
	}
	return alertFrom(e)
}

// PutAlert implements domain.AlertStore: insert when Version is empty,
// else replace If-Match Version.
func (s *Store) PutAlert(ctx context.Context, a *domain.Alert) error {
	if err := s.alertsTable(); err != nil {
		return err
	}
	if a.ID == "" {
		return domain.Invalid("id", "is required")
	}
	pp := alertProps(a)
	if pp.err != nil {
		return pp.err
	}
	pp.m["WriteId"] = writeID()
	e := entity{PK: alertPK, RK: EscapeKey(a.ID), Props: pp.m}
	if err := checkEntity(e); err != nil {
		return err
	}
	etag, _, err := s.writeMain(ctx, s.alerts, e, a.Version, time.Time{})
	switch statusOf(err) {
	case 0:
	case http.StatusConflict:
		return domain.Wrap(domain.CodeConflict, err, "alert %s already exists", a.ID)
	case http.StatusPreconditionFailed, http.StatusNotFound:
		return domain.Wrap(domain.CodeConflict, err, "alert %s was changed by someone else; read it again", a.ID)
	}
	if err != nil {
		return s.fail(err, "writing alert %s", a.ID)
	}
	a.Version = etag
	return nil
}

// ListAlerts implements domain.AlertStore: the one partition, by id.
func (s *Store) ListAlerts(ctx context.Context) ([]domain.Alert, error) {
	if err := s.alertsTable(); err != nil {
		return nil, err
	}
	ents, _, err := s.query(ctx, s.alerts, "PartitionKey eq "+odataString(alertPK), 0)
	if err != nil {
		return nil, s.fail(err, "listing alerts")
	}
	out := make([]domain.Alert, 0, len(ents))
	for _, e := range ents {
		a, err := alertFrom(e)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
