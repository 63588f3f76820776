package tablestore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

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

// Writing an alert that is missing with a version is a conflict, as in
// memstore.
func alertRecords(s *Store, c *aztables.Client) *table[domain.Alert] {
	return &table[domain.Alert]{
		kind:  kind{what: "alert", missingIsConflict: true},
		codec: codec[domain.Alert]{alertProps, alertFrom, func(a *domain.Alert) *string { return &a.Version }},
		s:     s,
		c:     c,
	}
}

func alertKey(id string) key { return key{alertPK, EscapeKey(id), id} }

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
	return s.alerts.get(ctx, alertKey(id))
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
	return s.alerts.put(ctx, alertKey(a.ID), a)
}

// ListAlerts implements domain.AlertStore: the one partition, by id.
func (s *Store) ListAlerts(ctx context.Context) ([]domain.Alert, error) {
	if err := s.alertsTable(); err != nil {
		return nil, err
	}
	out, err := s.alerts.list(ctx, partition(alertPK))
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
