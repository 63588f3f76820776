package domain_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
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
		t.Errorf("%s (%s): shared/ must not import local/; move the test under local/", key, strings.Join(found[key], ", "))
	}
}

// TestReadmePackageMapMatchesTheTree keeps README's package map whole: every
// folder holding Go code under shared/, local/ and functions/ has a line,
// and every package the map names exists.
func TestReadmePackageMapMatchesTheTree(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(first, -1) {
			named[strings.TrimSuffix(m[1], "/")] = true
		}
	}
	have := map[string]bool{}
	for _, top := range []string{"shared", "local", "functions"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".go") {
				rel, _ := filepath.Rel(root, filepath.Dir(path))
				have[filepath.ToSlash(rel)] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(have)) {
		if !named[pkg] && !named[filepath.Dir(pkg)+"/cmd"] && !strings.Contains(pkg, "/cmd/") {
			t.Errorf("README's package map has no line for %s", pkg)
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(named)) {
		if (strings.HasPrefix(pkg, "shared/") || strings.HasPrefix(pkg, "local/")) && !have[pkg] {
			t.Errorf("README's package map names %s, which holds no Go code", pkg)
		}
	}
}
