// Package notify holds every notification jitpim sends, as HTML and text
// templates in one place, and renders them. It is pure: the engine decides
// who gets what and queues the result in the outbox.
package notify

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"
)

// Kind names a notification.
type Kind string

// The kinds of mail jitpim sends.
const (
	EligibilityAssigned Kind = "eligibilityAssigned" // to the assignee and admins
	ActiveAssigned      Kind = "activeAssigned"
	Activated           Kind = "activated" // to the requester and admins
	ApprovalNeeded      Kind = "approvalNeeded"
	Approved            Kind = "approved"
	Denied              Kind = "denied"
	ExpiringSoon        Kind = "expiringSoon"
	Expired             Kind = "expired"
	TicketConfirm       Kind = "ticketConfirm" // a ServiceNow-originated activation waits for the requester's MFA
	AlertRaised         Kind = "alertRaised"   // to admins: an alert has new incidents (TargetName = the alert, Reason = the findings)
)

// Data is what templates may show. Strings are escaped by html/template.
type Data struct {
	Kind          Kind
	PrincipalName string
	TargetName    string
	Start, End    time.Time
	Justification string
	Ticket        string
	Actor         string // who acted (approver, admin)
	Reason        string
	Link          string // approval or confirmation page; never a link that acts by itself
	RequestID     string
}

// When formats a time for mails, in UTC.
func When(t time.Time) string {
	if t.IsZero() {
		return "no end (permanent)"
	}
	return t.UTC().Format("Mon 2 Jan 2006 15:04 MST")
}

var subjects = map[Kind]string{
	EligibilityAssigned: "You are eligible for {{.TargetName}}",
	ActiveAssigned:      "You were assigned {{.TargetName}}",
	Activated:           "{{.PrincipalName}} activated {{.TargetName}}",
	ApprovalNeeded:      "Approval needed: {{.PrincipalName}} requests {{.TargetName}}",
	Approved:            "Approved: {{.TargetName}}",
	Denied:              "Denied: {{.TargetName}}",
	ExpiringSoon:        "{{.TargetName}} expires on {{when .End}}",
	Expired:             "{{.TargetName}} has expired",
	TicketConfirm:       "Confirm your activation of {{.TargetName}} ({{.Ticket}})",
	AlertRaised:         "jitpim alert: {{.TargetName}}",
}

var bodies = map[Kind]string{
	EligibilityAssigned: `{{.Actor}} made {{.PrincipalName}} eligible for {{.TargetName}}, until {{when .End}}. Nothing is active until it is activated.`,
	ActiveAssigned:      `{{.Actor}} assigned {{.TargetName}} to {{.PrincipalName}}, active until {{when .End}}.`,
	Activated:           `{{.PrincipalName}} activated {{.TargetName}} from {{when .Start}} until {{when .End}}. Justification: {{.Justification}}{{if .Ticket}} Ticket: {{.Ticket}}{{end}}`,
	ApprovalNeeded:      `{{.PrincipalName}} asks for {{.TargetName}} until {{when .End}}. Justification: {{.Justification}}{{if .Ticket}} Ticket: {{.Ticket}}{{end}} Open the request to approve or deny it; you will be asked to sign in. Opening the link changes nothing by itself.`,
	Approved:            `{{.Actor}} approved your request for {{.TargetName}}. It is active until {{when .End}}.`,
	Denied:              `{{.Actor}} denied your request for {{.TargetName}}.{{if .Reason}} Reason: {{.Reason}}{{end}}`,
	ExpiringSoon:        `{{.PrincipalName}}'s {{.TargetName}} assignment expires on {{when .End}}. Ask an administrator to extend it if it is still needed.`,
	Expired:             `{{.PrincipalName}}'s {{.TargetName}} assignment expired on {{when .End}}.`,
	TicketConfirm:       `Ticket {{.Ticket}} asks to activate {{.TargetName}} for you until {{when .End}}. This role requires you to sign in with multi-factor authentication: open the link, sign in, and confirm.`,
	AlertRaised:         `{{.TargetName}}. {{.Reason}}`,
}

const htmlLayout = `<!doctype html><html><body style="font-family:Segoe UI,Arial,sans-serif">
<h2>{{.Subject}}</h2><p>{{.Body}}</p>
{{if .Data.Link}}<p><a href="{{.Data.Link}}">Open the request</a></p>{{end}}
<p style="color:#666;font-size:small">jitpim{{if .Data.RequestID}} · request {{.Data.RequestID}}{{end}}</p></body></html>`

const textLayout = `{{.Subject}}

{{.Body}}
{{if .Data.Link}}
Open the request: {{.Data.Link}}
{{end}}
-- jitpim{{if .Data.RequestID}} · request {{.Data.RequestID}}{{end}}
`

var funcs = map[string]any{"when": When}

// Render builds the subject and both bodies of a notification.
func Render(d Data) (subject, html, text string, err error) {
	subjT, ok := subjects[d.Kind]
	if !ok {
		return "", "", "", fmt.Errorf("no template for %q", d.Kind)
	}
	subject, err = execText(subjT, d)
	if err != nil {
		return
	}
	body, err := execText(bodies[d.Kind], d)
	if err != nil {
		return
	}
	var h bytes.Buffer
	hb, err := execHTML(bodies[d.Kind], d)
	if err != nil {
		return
	}
	if err = htmlT.Execute(&h, map[string]any{"Subject": subject, "Body": htmltemplate.HTML(hb), "Data": d}); err != nil {
		return
	}
	var t bytes.Buffer
	if err = textT.Execute(&t, map[string]any{"Subject": subject, "Body": body, "Data": d}); err != nil {
		return
	}
	return subject, h.String(), t.String(), nil
}

var (
	htmlT = htmltemplate.Must(htmltemplate.New("layout").Parse(htmlLayout))
	textT = texttemplate.Must(texttemplate.New("layout").Parse(textLayout))
)

func execText(src string, d Data) (string, error) {
	t, err := texttemplate.New("t").Funcs(funcs).Parse(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, d)
	return b.String(), err
}

// execHTML renders a body with HTML escaping, so names and justifications
// typed by users cannot inject markup into a mail.
func execHTML(src string, d Data) (string, error) {
	t, err := htmltemplate.New("t").Funcs(funcs).Parse(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, d)
	return b.String(), err
}
