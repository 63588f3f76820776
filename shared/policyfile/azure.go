package policyfile

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/jitpim/jitpim/shared/domain"
)

// azureRolesSection reads azureRoles: Azure roles at scopes, keyed by
// "{role name} on {scope}", the scope a readable path through
// directory.subscriptions ("Contoso Production/rg-web", and below it
// "…/Microsoft.Storage/storageAccounts/st1") or an Azure resource id
// ("/subscriptions/{id}/resourceGroups/rg-web"). Each holds the policy
// settings of that role at that scope (the settings table's Owner row).
// Eligible and active assignments of Azure roles are made through the
// ARM-shaped API; the file refuses them rather than ignoring them.
func (p *parser) azureRolesSection(n *yaml.Node) {
	if isNull(n) {
		return
	}
	m := p.d.asMapping(n, "azureRoles")
	for _, key := range m.keys {
		line := m.lines[key]
		t, name, ok := p.resolveAzureTarget(key, line)
		body := p.d.asMapping(m.get(key), "azureRoles."+key)
		tg := &Target{Key: key, Line: line, Name: name, T: t}
		if sn := body.get("settings"); !isNull(sn) {
			tg.Settings = p.settings(sn, "azureRoles."+key+".settings")
		}
		for _, k := range []string{"eligible", "active", "tier"} {
			if body.has(k) {
				p.d.errorf(line, "azureRoles.%s.%s: the policy file sets Azure roles' policies only; make Azure assignments through the ARM-shaped API", key, k)
			}
		}
		body.done("settings", "eligible", "active", "tier")
		if ok && p.unique(tg) {
			p.f.Targets = append(p.f.Targets, tg)
		}
	}
}

// resolveAzureTarget reads "{role} on {scope}".
func (p *parser) resolveAzureTarget(key string, line int) (domain.Target, string, bool) {
	roleText, scopeText, found := strings.Cut(key, " on ")
	if !found {
		p.d.errorf(line, "azureRoles: %q must read \"{role} on {scope}\", e.g. \"Owner on Contoso Production/rg-web\"", key)
		return domain.Target{}, "", false
	}
	role, ok := domain.AzureBuiltInRoleByName(roleText)
	if !ok {
		names := make([]string, 0, len(domain.AzureBuiltInRoles))
		for _, r := range domain.AzureBuiltInRoles {
			names = append(names, r.DisplayName)
		}
		msg := "azureRoles: unknown Azure role %q"
		if s := closest(strings.TrimSpace(roleText), names); s != "" {
			p.d.errorf(line, msg+" (did you mean %q?)", strings.TrimSpace(roleText), s)
		} else {
			p.d.errorf(line, msg+": jitpim knows Owner, Contributor, Reader, User Access Administrator and Role Based Access Control Administrator", strings.TrimSpace(roleText))
		}
		return domain.Target{}, "", false
	}
	scopeText = strings.TrimSpace(scopeText)
	path := scopeText
	if !strings.HasPrefix(scopeText, "/") {
		subName, rest, _ := strings.Cut(scopeText, "/")
		sub, ok := p.subs[subName]
		if !ok {
			p.d.errorf(line, "azureRoles: %q names no subscription under directory.subscriptions (or give the scope as /subscriptions/{id}/…)", subName)
			return domain.Target{}, "", false
		}
		path = "/subscriptions/" + string(sub.ID)
		if rest != "" {
			segs := strings.Split(rest, "/")
			path += "/resourceGroups/" + segs[0]
			if len(segs) > 1 {
				path += "/providers/" + strings.Join(segs[1:], "/")
			}
		}
	}
	scope, err := domain.ParseAzureScope("scope", path)
	if err != nil {
		p.d.errorf(line, "azureRoles: %q: %v", scopeText, err)
		return domain.Target{}, "", false
	}
	return domain.AzureRoleTarget(role.ID, scope), role.DisplayName + " on " + scopeText, true
}
