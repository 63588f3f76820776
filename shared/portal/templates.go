package portal

import "html/template"

// screens renders every screen: one frame (header, navigation, sign-out),
// then the parts the page holds. html/template escapes every value.
var screens = template.Must(template.New("page").Parse(screenTemplates + reviewTemplates))

// screenTemplates are the frame and the requester's and approver's parts.
const screenTemplates = `{{define "page"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · jitpim</title>
<link rel="stylesheet" href="/portal/static/app.css">
<script src="/portal/static/app.js" defer></script>
</head><body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><span class="brand">jitpim</span>
{{if .SignedIn}}<nav aria-label="Main"><ul>
<li><a href="/portal/"{{if eq .Nav "/portal/"}} aria-current="page"{{end}}>My roles</a></li>
<li><a href="/portal/requests"{{if eq .Nav "/portal/requests"}} aria-current="page"{{end}}>My requests</a></li>
<li><a href="/portal/approvals"{{if eq .Nav "/portal/approvals"}} aria-current="page"{{end}}>Approve requests</a></li>
<li><a href="/portal/reviews"{{if eq .Nav "/portal/reviews"}} aria-current="page"{{end}}>Access reviews</a></li>
{{if .IsAdmin}}<li><a href="/portal/admin/assignments"{{if .Admin}} aria-current="page"{{end}}>Admin</a></li>{{end}}
</ul></nav>
<form class="signout" method="post" action="/portal/signout"><input type="hidden" name="csrf" value="{{.SignOutCSRF}}">
<span class="me">{{.Me}}{{if .MyUPN}} <small>{{.MyUPN}}</small>{{end}}</span> <button type="submit" class="link">Sign out</button></form>{{end}}
</header>
<main id="main">
<h1>{{.Title}}</h1>
{{if .Message}}<p class="{{if .Problem}}problem{{else}}note{{end}}" role="status">{{.Message}}</p>{{end}}
{{if .SignIn}}<p><a class="button" href="{{.SignIn}}">{{if .SignInText}}{{.SignInText}}{{else}}Sign in with your work account{{end}}</a></p>{{end}}
{{if .Roles}}{{template "roles" .}}{{end}}
{{with .Activate}}{{template "activate" .}}{{end}}
{{with .Extend}}{{template "extend" .}}{{end}}
{{if .Requests}}{{template "requests" .}}{{end}}
{{if .Approvals}}{{template "approvals" .}}{{end}}
{{if .Reviews}}{{template "reviews" .}}{{end}}
{{with .Review}}{{template "review" .}}{{end}}
{{with .Admin}}{{template "admin" .}}{{end}}
</main></body></html>{{end}}

{{define "when"}}{{if .}}<time datetime="{{.ISO}}" title="{{.UTC}}">{{.UTC}}</time>{{else}}permanent{{end}}{{end}}

{{define "roles"}}<table class="cards"><caption class="sr">Your eligible and active roles and groups</caption>
<thead><tr><th scope="col">Role or group</th><th scope="col">State</th><th scope="col">Activation needs</th><th scope="col">Action</th></tr></thead><tbody>
{{range .Roles}}<tr>
<th scope="row" data-label="Role or group">{{.Name}} <small>{{.Kind}}</small></th>
<td data-label="State">{{if .ExpiredAt}}Expired {{template "when" .ExpiredAt}}{{else if .Active}}<strong>Active</strong> until {{template "when" .ActiveUntil}}{{else if .EligibleUntil}}Eligible until {{template "when" .EligibleUntil}}{{else}}Eligible, permanently{{end}}{{if .StartsAt}}<br>Starts at {{template "when" .StartsAt}}, active until {{template "when" .Until}}{{end}}</td>
<td data-label="Activation needs">{{if .ExpiredAt}}{{.Needs}}{{else if .Eligible}}{{.Needs}}{{else}}assigned active by an admin{{end}}</td>
<td data-label="Action">{{if .ActivateURL}}<a class="button" href="{{.ActivateURL}}">Activate<span class="sr"> {{.Name}}</span></a>{{end}}
{{if .ExtendURL}}<a href="{{.ExtendURL}}">Extend<span class="sr"> {{.Name}}</span></a>{{end}}
{{if .RenewURL}}<a class="button" href="{{.RenewURL}}">Renew<span class="sr"> {{.Name}}</span></a>{{end}}
{{if .CSRF}}<form method="post" action="/portal/deactivate"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="target" value="{{.TargetKey}}"><button type="submit">Deactivate<span class="sr"> {{.Name}}</span></button></form>{{end}}</td>
</tr>{{end}}</tbody></table>{{end}}

{{define "activate"}}<p>{{.Kind}}. Activation needs: {{.Needs}}.</p>
<form method="post" action="/portal/activate" class="stack">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="target" value="{{.TargetKey}}">
<label for="duration">How long</label>
<select id="duration" name="duration">{{range .Durations}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>
<label for="justification">Justification{{if .NeedJustification}} (required){{end}}</label>
<textarea id="justification" name="justification" rows="3" maxlength="500"{{if .NeedJustification}} required{{end}}></textarea>
<label for="ticket">Ticket number{{if .NeedTicket}} (required){{end}}</label>
<input id="ticket" name="ticket" type="text" maxlength="64" autocomplete="off" aria-describedby="ticket-status" data-check="/portal/ticket?target={{.TargetKey}}"{{if .NeedTicket}} required{{end}}>
<p id="ticket-status" class="hint" role="status" aria-live="polite"></p>
<p><button type="submit" class="primary">Activate</button> <a href="/portal/">Back to my roles</a></p>
</form>{{end}}

{{define "extend"}}{{if .Renew}}<p>{{.Kind}}, expired {{template "when" .Expired}}. An administrator decides on the renewal.</p>
<form method="post" action="/portal/renew" class="stack">{{else}}<p>{{.Kind}}, eligible until {{template "when" .Until}}. An administrator decides on the extension.</p>
<form method="post" action="/portal/extend" class="stack">{{end}}
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="target" value="{{.TargetKey}}">
<label for="justification">Why you still need it (required)</label>
<textarea id="justification" name="justification" rows="3" maxlength="500" required></textarea>
<p><button type="submit" class="primary">Ask to {{if .Renew}}renew{{else}}extend{{end}}</button> <a href="/portal/">Back to my roles</a></p>
</form>{{end}}

{{define "requests"}}<table class="cards"><caption class="sr">Your requests, newest first</caption>
<thead><tr><th scope="col">What</th><th scope="col">Asked</th><th scope="col">Status</th><th scope="col">Until</th><th scope="col">Action</th></tr></thead><tbody>
{{range .Requests}}<tr>
<th scope="row" data-label="What">{{.What}} <small>{{.Action}}</small></th>
<td data-label="Asked">{{template "when" .Created}}</td>
<td data-label="Status">{{.Status}}</td>
<td data-label="Until">{{if .Until}}{{template "when" .Until}}{{end}}</td>
<td data-label="Action">{{if .CSRF}}<form method="post" action="/portal/requests"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="kind" value="{{.Kind}}"><input type="hidden" name="id" value="{{.ID}}"><button type="submit">Cancel<span class="sr"> request for {{.What}}</span></button></form>{{end}}</td>
</tr>{{end}}</tbody></table>{{end}}

{{define "approvals"}}{{$csrf := .ApprovalsCSRF}}{{if gt (len .Approvals) 1}}
<form method="post" action="/portal/approvals" class="stack card"><input type="hidden" name="csrf" value="{{$csrf}}">
<fieldset><legend>Decide several at once</legend>
{{range .Approvals}}<label class="pick"><input type="checkbox" name="pick" value="{{.ID}} {{.StageID}}"> {{.Requester.Name}}: {{.What}}</label>
{{end}}</fieldset>
<label for="j-several">Your justification</label>
<textarea id="j-several" name="justification" rows="2" maxlength="500"></textarea>
<p><button type="submit" name="decision" value="Approve" class="primary">Approve selected</button> <button type="submit" name="decision" value="Deny">Deny selected</button></p>
</form>{{end}}{{range .Approvals}}
<section class="card" aria-labelledby="a-{{.ID}}">
<h2 id="a-{{.ID}}">{{.Requester.Name}} wants {{.What}}</h2>
<dl>
<dt>Who</dt><dd>{{.Requester.Name}}{{if .Requester.UPN}} <small>{{.Requester.UPN}}</small>{{end}} <small class="id">{{.Requester.ID}}</small></dd>
<dt>What</dt><dd>{{.What}}</dd>
{{with .Extension}}<dt>Asks</dt><dd>{{.Asks}}</dd>
{{if not .Ended}}<dt>Ends now</dt><dd>{{template "when" .CurrentEnd}}</dd>{{end}}
<dt>Asked to end</dt><dd>{{template "when" .RequestedEnd}}</dd>{{else}}<dt>How long</dt><dd>{{.Window}}</dd>{{end}}
<dt>Why</dt><dd>{{.Justification}}</dd>
{{if .Ticket}}<dt>Ticket</dt><dd>{{.Ticket}}{{if .TicketValidated}} (validated in ServiceNow){{end}}</dd>{{end}}
<dt>Asked</dt><dd>{{template "when" .Requested}}</dd>
</dl>
<form method="post" action="{{.Action}}" class="stack">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="stage" value="{{.StageID}}">
{{if .Confirm}}<p>Confirming activates it for you now. Your sign-in must have used multi-factor authentication.</p>
<p><button type="submit" name="decision" value="Approve" class="primary">Confirm activation</button> <button type="submit" name="decision" value="Deny">Cancel it</button></p>
{{else}}<label for="j-{{.ID}}">Your justification{{if .JustificationIsRequired}} (required){{end}}</label>
<textarea id="j-{{.ID}}" name="justification" rows="2" maxlength="500"{{if .JustificationIsRequired}} required{{end}}></textarea>
<p><button type="submit" name="decision" value="Approve" class="primary">Approve</button> <button type="submit" name="decision" value="Deny">Deny</button></p>{{end}}
</form></section>{{end}}{{end}}
`
