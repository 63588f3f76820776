package portal

import (
	"regexp"
	"testing"
)

// TestTemplateNamesAreUnique: the Admin screens' templates are parsed over
// the others, so a part defined twice silently replaces the first one (the
// Admin access reviews once replaced the reviewer's list).
func TestTemplateNamesAreUnique(t *testing.T) {
	define := regexp.MustCompile(`\{\{define "([^"]+)"\}\}`)
	seen := map[string]bool{}
	for _, m := range define.FindAllStringSubmatch(screenTemplates+reviewTemplates+adminTemplates, -1) {
		if seen[m[1]] {
			t.Errorf("template %q is defined twice", m[1])
		}
		seen[m[1]] = true
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d templates: the pattern no longer matches", len(seen))
	}
}
