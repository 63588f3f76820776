package names

import "github.com/jitpim/jitpim/shared/domain"

// Remember keeps a user just read from the directory by someone else (the
// engine's account check reads the whole entry), so naming or mailing
// them in the same activation asks the directory no second time.
func (r *Resolver) Remember(id domain.ObjectID, u domain.User) {
	if id == "" {
		return
	}
	e := entry{key: "u:" + string(id), user: u, name: domain.PersonName(u)}
	if e.name == "" {
		return // lookup keeps nameless users only briefly; so does not keeping them
	}
	e.found, e.expires = true, r.opts.Now().Add(r.opts.TTL)
	r.keep(e)
}
