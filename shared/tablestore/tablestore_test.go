package tablestore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/storetest"
	"github.com/jitpim/jitpim/shared/tablestore"
	"github.com/jitpim/jitpim/shared/tablestore/azuritetest"
)

// prefix returns a fresh table prefix, so tests sharing one Azurite never
// see each other's data.
func prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

func newStore(t testing.TB, conn string, opts tablestore.Options) *tablestore.Store {
	t.Helper()
	if opts.TablePrefix == "" {
		opts.TablePrefix = prefix()
	}
	s, err := tablestore.New(context.Background(), conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	conn := azuritetest.Start(t)
	storetest.Run(t, func(t *testing.T) domain.Store { return newStore(t, conn, tablestore.Options{}) })
}
