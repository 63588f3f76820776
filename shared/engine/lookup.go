package engine

import (
	"context"

	"github.com/jitpim/jitpim/shared/domain"
)

// DescribeUser reads a user's directory entry for display, as Graph's
// $expand=principal shows it. Any signed-in caller may: every member of an
// Entra tenant can read other users' names, and the caller already sees the
// principal's id.
func (e *Engine) DescribeUser(ctx context.Context, c *Call, id domain.ObjectID) (domain.User, error) {
	return e.dir.GetUser(ctx, id)
}
