package engine_test

import (
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/enginetest"
	"github.com/jitpim/jitpim/shared/memstore"
)

// TestEngineSuite runs the engine's behaviour suite over the memory store;
// package tablestore runs it over Table Storage.
func TestEngineSuite(t *testing.T) {
	enginetest.Run(t, func(testing.TB) domain.Store { return memstore.New() })
}

// FuzzIDSpellingsThroughTheEngine drives the suite's random actions with
// ids in random spellings (enginetest.IDSpellings) from fuzzed seeds, on
// the memory store, which is fast enough to fuzz.
func FuzzIDSpellingsThroughTheEngine(f *testing.F) {
	for _, seed := range enginetest.SpellingSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		enginetest.IDSpellings(t, enginetest.NewFixture(t, memstore.New()), seed)
	})
}
