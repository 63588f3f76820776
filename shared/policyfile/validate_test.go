package policyfile_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpim/jitpim/shared/policyfile"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// now dates the checks of fixed end dates in the test files.
var now = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// TestValidationMessages checks every file under testdata/validate against
// its golden list of file:line: message.
func TestValidationMessages(t *testing.T) {
	files, err := filepath.Glob("testdata/validate/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := policyfile.Load(path, now)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, d := range f.Diagnostics {
				b.WriteString(d.String() + "\n")
			}
			if len(f.Errors()) == 0 {
				t.Errorf("%s has no errors: every test file shows at least one", path)
			}
			golden(t, strings.TrimSuffix(path, ".yaml")+".golden", b.String())
		})
	}
}

// TestDemoFileIsValid: the file `make run` applies has no errors or warnings.
func TestDemoFileIsValid(t *testing.T) {
	f, err := policyfile.Load("../../local/demo/jitpim.yaml", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Diagnostics {
		t.Errorf("%s", d)
	}
	if len(f.Targets) == 0 || len(f.Tiers) != 3 || len(f.BreakGlass) != 2 || len(f.Reviews) != 4 || f.Alerts == nil {
		t.Fatalf("demo file read incompletely: %d targets, %d tiers", len(f.Targets), len(f.Tiers))
	}
}

// TestSchemaExampleIsValid: the complete example of SCHEMA.md parses clean.
func TestSchemaExampleIsValid(t *testing.T) {
	data, err := os.ReadFile("SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	start := strings.Index(s, "```yaml\n")
	end := strings.Index(s[start+8:], "```")
	if start < 0 || end < 0 {
		t.Fatal("SCHEMA.md has no yaml example")
	}
	f := policyfile.Parse("SCHEMA.md", []byte(s[start+8:start+8+end]), now)
	for _, d := range f.Diagnostics {
		t.Errorf("%s", d)
	}
}
