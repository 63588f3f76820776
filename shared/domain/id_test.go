package domain_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
)

func TestParseObjectIDSpellings(t *testing.T) {
	const canon = "e56a8394-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
	for _, s := range []string{canon, strings.ToUpper(canon), "E56a8394-1C2d-4e5F-8a9b-0c1D2e3f4A5b"} {
		id, err := domain.ParseObjectID("principalId", s)
		if err != nil || id != canon {
			t.Errorf("%q: %q %v, want the canonical id", s, id, err)
		}
	}
	for _, s := range []string{"", "{" + canon + "}", " " + canon, canon + "\n", "urn:uuid:" + canon, strings.ReplaceAll(canon, "-", ""),
		canon[:35], canon + "0", "g56a8394-1c2d-4e5f-8a9b-0c1d2e3f4a5b", strings.Replace(canon, "-", "\u2010", 1)} {
		_, err := domain.ParseObjectID("principalId", s)
		if !domain.IsCode(err, domain.CodeInvalid) || !strings.Contains(err.Error(), "principalId") {
			t.Errorf("%q: %v, want CodeInvalid naming principalId", s, err)
		}
	}
	if domain.CanonicalID(strings.ToUpper(canon)) != canon {
		t.Error("CanonicalID does not fold stored upper-case ids")
	}
	var bg domain.BreakGlass = []domain.ObjectID{canon}
	up, _ := domain.ParseObjectID("x", strings.ToUpper(canon))
	if !bg.Protects(up) || bg.Protects(domain.NoID) {
		t.Error("BreakGlass.Protects")
	}
}

func FuzzParseObjectID(f *testing.F) {
	f.Add("e56a8394-1c2d-4e5f-8a9b-0c1d2e3f4a5b")
	f.Add("{E56A8394-1C2D-4E5F-8A9B-0C1D2E3F4A5B}")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := domain.ParseObjectID("f", s)
		if err != nil {
			return
		}
		// Whatever was accepted is canonical, and every spelling of it parses to it.
		if !id.Valid() || string(id) != strings.ToLower(s) {
			t.Fatalf("%q parsed to %q", s, id)
		}
		if again, err := domain.ParseObjectID("f", strings.ToUpper(s)); err != nil || again != id {
			t.Fatalf("upper-case spelling of %q: %q %v", s, again, err)
		}
	})
}

// TestNoRawObjectIDConversions keeps the rule "parse once at the boundary":
// production code outside the domain makes ObjectIDs only with
// ParseObjectID or CanonicalID, never by converting a raw string, which
// would let an unparsed spelling past every guard.
func TestNoRawObjectIDConversions(t *testing.T) {
	root := filepath.Join("..", "..")
	allowed := map[string]bool{filepath.Join("shared", "storetest", "storetest.go"): true} // test support: fixed fixture ids
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.HasPrefix(rel, filepath.Join("shared", "domain")) || allowed[rel] {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), "domain.ObjectID(") {
			t.Errorf("%s converts a raw string to domain.ObjectID: use domain.ParseObjectID (input) or domain.CanonicalID (stored data)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
