package stack

import (
	"os"
	"strings"
	"testing"

	"github.com/jitpim/jitpim/shared/tablestore"
)

// TestAuditCommandsOfMakeRun: the lines make run prints for its Azurite and
// prefix are the ones README shows; another account is quoted for the shell.
func TestAuditCommandsOfMakeRun(t *testing.T) {
	s := &Stack{Connection: tablestore.DevelopmentStorage, TablePrefix: "demo"}
	export, verify := s.AuditCommands("bin/jitpim")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"AzureWebJobsStorage=UseDevelopmentStorage=true JITPIM_TABLE_PREFIX=demo bin/jitpim audit export",
		"AzureWebJobsStorage=UseDevelopmentStorage=true JITPIM_TABLE_PREFIX=demo bin/jitpim audit verify",
	} {
		if want != export && want != verify {
			t.Errorf("make run prints %q and %q, not %q", export, verify, want)
		}
		if !strings.Contains(string(readme), want) {
			t.Errorf("README does not show %q", want)
		}
	}
	s = &Stack{Connection: "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k+/=;TableEndpoint=http://127.0.0.1:4242/a;", TablePrefix: "t1"}
	_, verify = s.AuditCommands("/tmp/my dir/jitpim")
	if want := "AzureWebJobsStorage='DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k+/=;TableEndpoint=http://127.0.0.1:4242/a;' JITPIM_TABLE_PREFIX=t1 '/tmp/my dir/jitpim' audit verify"; verify != want {
		t.Errorf("verify line %q, want %q", verify, want)
	}
}
