package notify

import (
	"strings"
	"testing"
	"time"
)

func TestEveryKindRenders(t *testing.T) {
	for k := range subjects {
		d := Data{Kind: k, PrincipalName: "Adam", TargetName: "Exchange Administrator", Start: time.Unix(0, 0), End: time.Unix(3600, 0),
			Justification: "INC1", Ticket: "INC0012345", Actor: "Alice", Link: "https://jitpim.example/api/approvals/x", RequestID: "r1"}
		subj, html, text, err := Render(d)
		if err != nil || subj == "" || !strings.Contains(html, "Exchange Administrator") || !strings.Contains(text, "Exchange Administrator") {
			t.Fatalf("%s: %q %v", k, subj, err)
		}
		if _, ok := bodies[k]; !ok {
			t.Fatalf("%s has a subject but no body", k)
		}
	}
}

func TestHTMLEscapesUserText(t *testing.T) {
	_, html, _, err := Render(Data{Kind: Activated, PrincipalName: "<script>x</script>", TargetName: "GA", Justification: `"><img src=x onerror=alert(1)>`})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "<img") {
		t.Fatalf("user text not escaped: %s", html)
	}
}

func TestUnknownKind(t *testing.T) {
	if _, _, _, err := Render(Data{Kind: "nope"}); err == nil {
		t.Fatal("unknown kind rendered")
	}
}
