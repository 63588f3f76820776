package domain_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSharedDoesNotImportLocal keeps the layering: local/ (the simulators,
// the local host and stack) builds on shared/, never the
// other way, not even in tests, so that shared/ and its tests build and
// mean the same without the local stand-ins. A test that needs a simulator
// lives under local/ (local/graphsim holds the Graph adapter's, local/snsim
// the ServiceNow client's, local/clitest the command line's).
func TestSharedDoesNotImportLocal(t *testing.T) {
	const localPrefix = "github.com/jitpim/jitpim/local/"
	// Imports that are allowed for now; the list may only shrink: an entry
	// no longer needed fails.
	pending := map[string]bool{}
	root := filepath.Join("..", "..")
	found := map[string][]string{} // "pkg imports local/x" -> files
	fset := token.NewFileSet()
	err := filepath.WalkDir(filepath.Join(root, "shared"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, localPrefix) {
				key := filepath.ToSlash(filepath.Dir(rel)) + " imports local/" + strings.TrimPrefix(p, localPrefix)
				found[key] = append(found[key], filepath.ToSlash(rel))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range slices.Sorted(maps.Keys(found)) {
		if !pending[key] {
			t.Errorf("%s (%s): shared/ must not import local/; move the test under local/", key, strings.Join(found[key], ", "))
		}
	}
	for key := range pending {
		if found[key] == nil {
			t.Errorf("%q no longer holds: take it off the pending list", key)
		}
	}
}
