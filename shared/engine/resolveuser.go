package engine

import (
	"context"
	"strings"

	"github.com/jitpim/jitpim/shared/domain"
)

// ResolveUser reads a person an administrator named in a form: an object
// id as given, or a user principal name (or e-mail address) looked up once
// in the directory. An unknown or ambiguous name is refused with
// CodeInvalid naming field, so nothing is ever changed for a guess; a
// directory outage passes through as it is.
func (k *Kernel) ResolveUser(ctx context.Context, field, text string) (domain.ObjectID, error) {
	text = strings.TrimSpace(text)
	if id, err := domain.ParseObjectID(field, text); err == nil {
		return id, nil
	}
	if text == "" || !strings.Contains(text, "@") || len(text) > 256 {
		return "", domain.Invalid(field, "give the person's user principal name (name@domain) or object id")
	}
	u, err := k.dir.FindUser(ctx, text)
	switch {
	case domain.IsCode(err, domain.CodeNotFound):
		return "", domain.Invalid(field, "no user in the directory is named %q", text)
	case domain.IsCode(err, domain.CodeInvalid):
		return "", domain.Invalid(field, "%q names more than one user: give the object id", text)
	case err != nil:
		return "", err
	}
	return domain.ParseObjectID(field, string(u.ID)) // the directory's answer is outside input too
}
