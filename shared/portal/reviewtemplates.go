package portal

// reviewTemplates render the Access reviews screens: the reviewer's list,
// and one review with accept-recommendations and a form per item. The
// mailed review link shows the same "review" part.
const reviewTemplates = `
{{define "reviews"}}<table class="cards"><caption class="sr">Access reviews you take part in</caption>
<thead><tr><th scope="col">Review</th><th scope="col">Covers</th><th scope="col">Due</th><th scope="col">Status</th><th scope="col">Action</th></tr></thead><tbody>
{{range .Reviews}}<tr>
<th scope="row" data-label="Review">{{.Name}}</th>
<td data-label="Covers">{{.Covers}}</td>
<td data-label="Due">{{template "when" .Due}}</td>
<td data-label="Status">{{.Status}}{{if .Progress}}; {{.Progress}}{{end}}</td>
<td data-label="Action"><a class="button" href="{{.URL}}">Open<span class="sr"> {{.Name}}</span></a></td>
</tr>{{end}}</tbody></table>{{end}}

{{define "review"}}<dl class="summary">
<dt>Covers</dt><dd>{{.Covers}}</dd>
<dt>Due</dt><dd>{{template "when" .Due}}</dd>
<dt>Status</dt><dd>{{.Status}}</dd>
<dt>Your progress</dt><dd>{{.Progress}}</dd>
</dl>
{{if .Warning}}<p class="warn">{{.Warning}}</p>{{end}}
{{if and .CSRF .Recommended}}
<form method="post" action="{{.Action}}" class="stack card"><input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="definition" value="{{.Definition}}"><input type="hidden" name="instance" value="{{.Instance}}">
<fieldset><legend>Accept recommendations</legend>
{{range .Recommended}}<label class="pick"><input type="checkbox" name="pick" value="{{.ID}}" checked> {{.Who.Name}}, {{.What}}: {{.Recommendation}}</label>
{{end}}</fieldset>
<label for="j-accept">Your justification{{if .NeedApproveJustification}} (required to approve){{end}}</label>
<textarea id="j-accept" name="justification" rows="2" maxlength="500"></textarea>
<p><button type="submit" name="accept" value="1" class="primary">Accept selected recommendations</button></p>
</form>{{end}}
{{$s := .}}{{range .Items}}
<section class="card" aria-labelledby="i-{{.ID}}">
<h2 id="i-{{.ID}}">{{.Who.Name}}: {{.What}}</h2>
<dl>
<dt>Who</dt><dd>{{.Who.Name}}{{if .Who.UPN}} <small>{{.Who.UPN}}</small>{{end}} <small class="id">{{.Who.ID}}</small></dd>
<dt>Access</dt><dd>{{.What}}, {{.Kind}} {{if .Until}}until {{template "when" .Until}}{{else}}permanently{{end}}</dd>
<dt>Last sign-in</dt><dd>{{if .LastSignIn}}{{template "when" .LastSignIn}}{{else}}none seen in the last 30 days{{end}}</dd>
<dt>Last activation</dt><dd>{{if .LastActivated}}{{template "when" .LastActivated}}{{else}}none in the last 30 days{{end}}</dd>
<dt>Recommendation</dt><dd>{{.Recommendation}}{{if .Reason}}: {{.Reason}}{{end}}</dd>
<dt>Decision</dt><dd>{{.Decision}}{{if .Justification}} ({{.Justification}}){{end}}{{if .DecidedBy}}, by {{.DecidedBy}}{{end}}</dd>
</dl>
{{if $s.CSRF}}<form method="post" action="{{$s.Action}}" class="stack">
<input type="hidden" name="csrf" value="{{$s.CSRF}}"><input type="hidden" name="item" value="{{.ID}}">
<input type="hidden" name="definition" value="{{$s.Definition}}"><input type="hidden" name="instance" value="{{$s.Instance}}">
<label for="j-{{.ID}}">Your justification{{if $s.NeedApproveJustification}} (required to approve){{end}}</label>
<textarea id="j-{{.ID}}" name="justification" rows="2" maxlength="500"></textarea>
<p>{{if .CanApprove}}<button type="submit" name="decision" value="Approve" class="primary">Approve (keep)</button>{{else}}<span class="note">You cannot approve your own access.</span>{{end}}
<button type="submit" name="decision" value="Deny">Deny (remove)</button>
<button type="submit" name="decision" value="DontKnow">Don't know</button></p>
</form>{{end}}
</section>{{end}}
{{if .More}}<p class="note">More assignments wait for you: decide these, then open this review again.</p>{{end}}
<p><a href="/portal/reviews">Back to access reviews</a></p>{{end}}
`
