package portal

import "html/template"

// allScreens are the portal's screens with the Admin ones added.
var allScreens = template.Must(template.Must(screens.Clone()).Funcs(template.FuncMap{"tabs": func() any { return adminTabs }}).Parse(adminTemplates))

const adminTemplates = `{{define "admin"}}{{$tab := .Tab}}<nav aria-label="Admin" class="subnav"><ul>
{{range tabs}}<li><a href="/portal/{{.Path}}"{{if eq .Path $tab}} aria-current="page"{{end}}>{{.Label}}</a></li>{{end}}
</ul></nav>
{{with .Assignments}}{{template "assignments" .}}{{end}}
{{with .Settings}}{{template "settings" .}}{{end}}
{{with .PolicyForm}}{{template "policy" .}}{{end}}
{{with .Reviews}}{{template "adminReviews" .}}{{end}}
{{with .Alerts}}{{template "alerts" .}}{{end}}
{{with .Audit}}{{template "audit" .}}{{end}}{{end}}

{{define "assignments"}}{{$csrf := .CSRF}}{{$filter := .Filter}}{{$ends := .Ends}}
{{if .Filter}}<p><a href="/portal/admin/assignments">Show every role and group</a></p>{{end}}
{{if .Rows}}<table class="cards"><caption class="sr">Eligible and active assignments</caption>
<thead><tr><th scope="col">Role or group</th><th scope="col">Person</th><th scope="col">Assignment</th><th scope="col">Until</th><th scope="col">Change</th></tr></thead><tbody>
{{range $i, $r := .Rows}}<tr>
<th scope="row" data-label="Role or group"><a href="{{.FilterURL}}">{{.Target}}</a></th>
<td data-label="Person">{{.Person.Name}}{{if .Person.UPN}} <small>{{.Person.UPN}}</small>{{end}}</td>
<td data-label="Assignment">{{.KindWords}}</td>
<td data-label="Until">{{template "when" .Until}}</td>
<td data-label="Change">{{if .Changeable}}<form method="post" action="/portal/admin/assignments" class="inline">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="filter" value="{{$filter}}">
<input type="hidden" name="kind" value="{{.Kind}}"><input type="hidden" name="target" value="{{.TargetKey}}"><input type="hidden" name="principal" value="{{.Person.ID}}">
<label for="end-{{$i}}">New end <span class="sr">for {{.Person.Name}}, {{.Target}}</span></label>
<select id="end-{{$i}}" name="end">{{range $ends}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>
<label for="why-{{$i}}" class="sr">Justification for {{.Person.Name}}, {{.Target}}</label><input id="why-{{$i}}" name="justification" type="text" maxlength="500" placeholder="justification">
<button type="submit" name="op" value="update">Update</button> <button type="submit" name="op" value="extend">Extend</button>
<button type="submit" name="op" value="remove">Remove<span class="sr"> {{.Person.Name}} from {{.Target}}</span></button></form>
{{else}}ends by itself or when the person deactivates{{end}}</td>
</tr>{{end}}</tbody></table>{{if .More}}<p class="note">Only the first assignments are listed; choose a role or group to see all of its own.</p>{{end}}{{end}}
<form method="post" action="/portal/admin/assignments" class="stack card" id="add">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="filter" value="{{.Filter}}"><input type="hidden" name="op" value="add">
<h2>Add an assignment</h2>
<label for="principal">Person: user principal name or object id</label>
<input id="principal" name="principal" type="text" maxlength="256" autocomplete="off" required value="{{.Principal}}">
<label for="target">Role, group or Azure role</label>
<select id="target" name="target">{{range .Targets}}<option value="{{.Key}}"{{if .Selected}} selected{{end}}>{{.Name}}</option>{{end}}</select>
<fieldset><legend>Assignment type</legend>
<label class="pick"><input type="radio" name="kind" value="eligibility"{{if ne .Kind "assignment"}} checked{{end}}> Eligible (activates when needed)</label>
<label class="pick"><input type="radio" name="kind" value="assignment"{{if eq .Kind "assignment"}} checked{{end}}> Active (holds it now)</label></fieldset>
<label for="end">How long</label>
<select id="end" name="end">{{range .Ends}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>
<label for="justification">Justification</label>
<textarea id="justification" name="justification" rows="2" maxlength="500">{{.Description}}</textarea>
<p><button type="submit" class="primary">Add assignment</button></p>
</form>{{end}}

{{define "settings"}}<div class="scroll" tabindex="0" role="region" aria-label="Settings table"><table><caption class="sr">Activation and assignment settings per role and group</caption>
<thead><tr><th scope="col">Role or group</th><th scope="col">Require MFA</th><th scope="col">Conditional Access context</th><th scope="col">Notification</th><th scope="col">Ticket</th><th scope="col">Justification</th><th scope="col">Require approval</th><th scope="col">Approvers</th><th scope="col">Activation duration</th><th scope="col">Eligible expiration</th><th scope="col">Active expiration</th><th scope="col"><span class="sr">Edit</span></th></tr></thead><tbody>
{{range .Rows}}<tr><th scope="row">{{.Name}}</th><td>{{.MFA}}</td><td>{{.AuthContext}}</td><td>{{.Notification}}</td><td>{{.Ticket}}</td><td>{{.Justification}}</td><td>{{.Approval}}</td><td>{{.Approvers}}</td><td>{{.Activation}}</td><td>{{.EligibleExpiry}}</td><td>{{.ActiveExpiry}}</td>
<td><a href="{{.EditURL}}">Edit<span class="sr"> {{.Name}}</span></a></td></tr>{{end}}</tbody></table></div>
{{if .Roles}}<form method="get" action="/portal/admin/settings/edit" class="stack card"><h2>Give a role settings of its own</h2>
<label for="role">Role</label><select id="role" name="id">{{range .Roles}}<option value="{{.Key}}">{{.Name}}</option>{{end}}</select>
<p><button type="submit">Edit its settings</button></p></form>{{end}}{{end}}

{{define "policy"}}{{if .Inherited}}<p class="note">{{.Inherited}}</p>{{end}}
<form method="post" action="/portal/admin/settings/edit" class="stack card">
<input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="id" value="{{.ID}}">
<h2>Activation</h2>
<label for="activation">Maximum activation duration</label>
<select id="activation" name="activation">{{range .Activation}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>
<fieldset><legend>Sign-in needed to activate</legend>
<label class="pick"><input type="radio" name="auth" value="none"{{if eq .Auth "none"}} checked{{end}}> Nothing more</label>
<label class="pick"><input type="radio" name="auth" value="mfa"{{if eq .Auth "mfa"}} checked{{end}}> Multi-factor authentication</label>
<label class="pick"><input type="radio" name="auth" value="context"{{if eq .Auth "context"}} checked{{end}}> Conditional Access authentication context</label></fieldset>
<label for="authContext">Authentication context (for example c1)</label>
<input id="authContext" name="authContext" type="text" maxlength="32" value="{{.AuthContext}}">
<label class="pick"><input type="checkbox" name="justification"{{if .Justification}} checked{{end}}> Require a justification</label>
<label class="pick"><input type="checkbox" name="ticket"{{if .Ticket}} checked{{end}}> Require a ticket number</label>
<label class="pick"><input type="checkbox" name="validateTicket"{{if .ValidateTicket}} checked{{end}}> Check the ticket in ServiceNow</label>
<h2>Approval</h2>
<label class="pick"><input type="checkbox" name="approval"{{if .Approval}} checked{{end}}> Require approval to activate</label>
<label for="approvers">Approvers: user principal names or object ids, one a line; group: before a group's object id{{if .ApproverNames}} (now: {{.ApproverNames}}){{end}}</label>
<textarea id="approvers" name="approvers" rows="3">{{.Approvers}}</textarea>
{{if .MoreStages}}<p class="note">This policy has a second approval stage; it is kept as it is (change it with the API or a policy file).</p>{{end}}
<label class="pick"><input type="checkbox" name="approverJustification"{{if .ApproverJustification}} checked{{end}}> Approvers must give a justification</label>
<h2>Assignment</h2>
<label class="pick"><input type="checkbox" name="eligiblePermanent"{{if .EligiblePermanent}} checked{{end}}> Allow permanent eligible assignment</label>
<label for="eligibleMax">Otherwise eligible assignments end after</label>
<select id="eligibleMax" name="eligibleMax">{{range .EligibleMax}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>
<label class="pick"><input type="checkbox" name="activePermanent"{{if .ActivePermanent}} checked{{end}}> Allow permanent active assignment</label>
<label for="activeMax">Otherwise active assignments end after</label>
<select id="activeMax" name="activeMax">{{range .ActiveMax}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>
<label class="pick"><input type="checkbox" name="eligibleJustification"{{if .EligibleJustification}} checked{{end}}> Require a justification to make someone eligible</label>
<label class="pick"><input type="checkbox" name="activeJustification"{{if .ActiveJustification}} checked{{end}}> Require a justification on active assignment</label>
<label class="pick"><input type="checkbox" name="activeMFA"{{if .ActiveMFA}} checked{{end}}> Require MFA on active assignment</label>
{{if .Notifications}}<h2>Notifications</h2>
{{range .Notifications}}<fieldset><legend>{{.Label}}</legend>
<label class="pick"><input type="checkbox" name="n{{.Index}}default"{{if .Default}} checked{{end}}> Mail the default recipients</label>
<label for="n{{.Index}}extra">Also mail (addresses, comma-separated)</label>
<input id="n{{.Index}}extra" name="n{{.Index}}extra" type="text" maxlength="2000" value="{{.Extra}}"></fieldset>{{end}}{{end}}
<p><button type="submit" class="primary">Save settings</button> <a href="/portal/admin/settings">Back to the settings table</a></p>
</form>{{end}}

{{define "adminReviews"}}{{$csrf := .CSRF}}{{range .Definitions}}{{$def := .ID}}
<section class="card" aria-labelledby="r-{{.ID}}"><h2 id="r-{{.ID}}">{{.Name}}</h2>
<dl><dt>Covers</dt><dd>{{.Scope}}</dd><dt>Reviewers</dt><dd>{{.Reviewers}}</dd><dt>Runs</dt><dd>{{.Recurrence}}</dd><dt>Unanswered</dt><dd>{{.Default}}</dd></dl>
{{if .Instances}}<table><caption>Reviews of {{.Name}}</caption><thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col"><span class="sr">Action</span></th></tr></thead><tbody>
{{range .Instances}}<tr><td>{{template "when" .Start}}</td><td>{{template "when" .End}}</td><td>{{.Status}}</td><td>{{.Progress}}</td>
<td>{{if .Stoppable}}<form method="post" action="/portal/admin/reviews"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="op" value="stop"><input type="hidden" name="definition" value="{{$def}}"><input type="hidden" name="instance" value="{{.ID}}"><button type="submit">Stop this review</button></form>{{end}}</td></tr>{{end}}
</tbody></table>{{else}}<p>No review has started yet.</p>{{end}}
<form method="post" action="/portal/admin/reviews"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="op" value="delete"><input type="hidden" name="definition" value="{{.ID}}"><button type="submit">Delete<span class="sr"> {{.Name}}</span></button></form>
</section>{{end}}
<form method="post" action="/portal/admin/reviews" class="stack card"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="op" value="create">
<h2>Define an access review</h2>
<label for="rname">Name</label><input id="rname" name="name" type="text" maxlength="256" required>
<label for="rscope">Covers</label><select id="rscope" name="scope">{{range .Scopes}}<option value="{{.Key}}">{{.Name}}</option>{{end}}</select>
<fieldset><legend>Reviewers</legend>
<label class="pick"><input type="radio" name="reviewers" value="self" checked> Each person reviews their own access</label>
<label class="pick"><input type="radio" name="reviewers" value="manager"> Each person's manager</label>
<label class="pick"><input type="radio" name="reviewers" value="user"> This person:</label></fieldset>
<label for="reviewer">Reviewer, when one person reviews: user principal name or object id</label><input id="reviewer" name="reviewer" type="text" maxlength="256">
<label for="rrec">Runs</label><select id="rrec" name="recurrence"><option value="">once</option><option value="weekly">weekly</option><option value="absoluteMonthly">monthly</option></select>
<label for="rdays">Days reviewers have</label><input id="rdays" name="days" type="number" min="1" max="365" value="14">
<label for="rdef">When a reviewer does not answer</label><select id="rdef" name="default"><option value="Recommendation">follow the recommendation</option><option value="Deny">remove access</option><option value="Approve">keep access</option></select>
<label class="pick"><input type="checkbox" name="autoApply" checked> Apply the results automatically</label>
<p><button type="submit" class="primary">Define review</button></p></form>{{end}}

{{define "alerts"}}{{$csrf := .CSRF}}<h2>Break-glass accounts</h2>
{{if .BreakGlass}}<table><caption class="sr">Break-glass accounts</caption><thead><tr><th scope="col">Account</th><th scope="col">State</th><th scope="col">Last sign-in</th><th scope="col">Problems</th></tr></thead><tbody>
{{range .BreakGlass}}<tr><th scope="row">{{.Person.Name}}{{if .Person.UPN}} <small>{{.Person.UPN}}</small>{{end}}</th><td>{{.State}}</td><td>{{if .LastSignIn}}{{template "when" .LastSignIn}}{{else}}none known{{end}}</td>
<td>{{if .Problems}}<ul>{{range .Problems}}<li>{{.}}</li>{{end}}</ul>{{else}}none{{end}}</td></tr>{{end}}</tbody></table>
<p>Last check: {{if .LastCheck}}{{template "when" .LastCheck}}{{else}}not run yet{{end}}.</p>{{else}}<p class="problem">No break-glass account is configured (JITPIM_BREAK_GLASS_IDS): keep at least two.</p>{{end}}
<h2>Alerts</h2>
<form method="post" action="/portal/admin/alerts"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="op" value="refresh"><button type="submit">Check every alert now</button></form>
{{range .Alerts}}<section class="card" aria-labelledby="al-{{.ID}}"><h3 id="al-{{.ID}}">{{.Name}}</h3>
<p>Severity {{.Severity}}; {{.Status}}{{if .LastScanned}}; last checked {{template "when" .LastScanned}}{{end}}.</p>
{{if .Incidents}}<ul>{{range .Incidents}}<li>{{.}}</li>{{end}}</ul>{{if .More}}<p>and {{.More}} more.</p>{{end}}{{end}}
<form method="post" action="/portal/admin/alerts" class="inline"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="alert" value="{{.ID}}">
<button type="submit" name="op" value="refresh">Check again<span class="sr">: {{.Name}}</span></button>
{{if .Dismissable}}<button type="submit" name="op" value="dismiss">Dismiss<span class="sr">: {{.Name}}</span></button>{{end}}</form></section>{{end}}{{end}}

{{define "audit"}}<form method="get" action="/portal/admin/audit" class="filters card">
<div><label for="aperson">Person (name, UPN or object id)</label><input id="aperson" name="person" type="text" value="{{.Person}}"></div>
<div><label for="atarget">Role or group</label><input id="atarget" name="target" type="text" value="{{.Target}}"></div>
<div><label for="aaction">Action (for example request, grant)</label><input id="aaction" name="action" type="text" value="{{.Action}}"></div>
<div><label for="afrom">From (UTC date)</label><input id="afrom" name="from" type="date" value="{{.From}}"></div>
<div><label for="ato">To (UTC date)</label><input id="ato" name="to" type="date" value="{{.To}}"></div>
<p><button type="submit" class="primary">Filter</button></p></form>
<p class="{{if .ChainBroken}}problem{{else}}note{{end}}" id="chain"><strong>Hash chain:</strong> {{.Chain}} <a href="{{.VerifyURL}}">Verify the chain now</a></p>
<p>Download these records: <a href="{{.CSVURL}}" download>CSV</a> · <a href="{{.JSONURL}}" download>JSON lines</a>.
{{.Scanned}} records read{{if .Truncated}}, the newest only: narrow the search to see older ones{{end}}.</p>
{{if .Rows}}<table class="cards"><caption class="sr">Audit records, newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Role or group</th><th scope="col">Whose access</th><th scope="col">Outcome</th><th scope="col">Details</th></tr></thead><tbody>
{{range .Rows}}<tr><td data-label="When">{{template "when" .When}}</td><td data-label="Who">{{.Actor.Name}}</td><th scope="row" data-label="Action">{{.Action}}</th>
<td data-label="Role or group">{{.Target}}</td><td data-label="Whose access">{{.Principal.Name}}</td><td data-label="Outcome">{{.Outcome}}{{if .Reason}}: {{.Reason}}{{end}}</td><td data-label="Details"><small>{{.Note}}</small></td></tr>{{end}}
</tbody></table>{{end}}{{end}}
`
