package memstore_test

import (
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/memstore"
	"github.com/jitpim/jitpim/shared/storetest"
)

func TestReviewConformance(t *testing.T) {
	storetest.RunReviews(t, func(*testing.T) domain.ReviewStore { return memstore.New() })
}
