package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// tablesNamed lists the stack account's tables whose names start with p.
func tablesNamed(t *testing.T, p string) []string {
	t.Helper()
	svc, err := aztables.NewServiceClientFromConnectionString(st.Connection, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	pager := svc.NewListTablesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range page.Tables {
			if tb.Name != nil && strings.HasPrefix(strings.ToLower(*tb.Name), strings.ToLower(p)) {
				out = append(out, *tb.Name)
			}
		}
	}
	return out
}

func freshPrefix(t *testing.T) string {
	t.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "wrong" + hex.EncodeToString(b[:])
}

// TestAuditCommandsNeverVouchForNothing is issue 10's case 13 through the
// real binary against the stack's Azurite: with a wrong table prefix
// `audit verify` and `audit export` exit 1 naming the table and prefix
// they looked at, and create no table; an audit table that exists but is
// empty fails verify too; with the stack's own prefix, the command lines
// that `make run` prints verify and export the real chain.
func TestAuditCommandsNeverVouchForNothing(t *testing.T) {
	storage := "AzureWebJobsStorage=" + st.Connection
	wrong := freshPrefix(t)
	for _, cmd := range [][]string{{"audit", "verify"}, {"audit", "export"}, {"audit-verify"}, {"audit-export"}} {
		r := jitpim(t, "", false, []string{storage, "JITPIM_TABLE_PREFIX=" + wrong}, cmd...)
		if r.code != 1 || !strings.Contains(r.stderr, "the audit table "+wrong+"Audit does not exist") || !strings.Contains(r.stderr, `table prefix "`+wrong+`"`) ||
			strings.Contains(r.stdout, "intact") {
			t.Errorf("%v with a wrong prefix: %+v", cmd, r)
		}
	}
	if got := tablesNamed(t, wrong); len(got) != 0 {
		t.Fatalf("read-only commands created tables: %v", got)
	}

	// An audit table that exists and holds nothing: nothing to vouch for.
	empty := freshPrefix(t)
	svc, err := aztables.NewServiceClientFromConnectionString(st.Connection, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateTable(context.Background(), empty+"Audit", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = svc.DeleteTable(context.Background(), empty+"Audit", nil) })
	r := jitpim(t, "", false, []string{storage, "JITPIM_TABLE_PREFIX=" + empty}, "audit", "verify")
	if r.code != 1 || !strings.Contains(r.stderr, "the audit table "+empty+"Audit") || !strings.Contains(r.stderr, "holds no audit records: nothing to verify") {
		t.Fatalf("verify of an empty table: %+v", r)
	}
	if got := tablesNamed(t, empty); len(got) != 1 {
		t.Fatalf("verify changed the tables under %s: %v", empty, got)
	}

	// The lines make run prints, run as printed (with this test's binary),
	// after the expirySweep timer has linked the records, as make run does.
	if _, err := st.RunTimer(context.Background(), "expirySweep"); err != nil {
		t.Fatal(err)
	}
	export, verify := st.AuditCommands(handlerBinary)
	for _, line := range []string{export, verify} {
		if !strings.Contains(line, "JITPIM_TABLE_PREFIX="+st.TablePrefix) || !strings.Contains(line, "AzureWebJobsStorage=") {
			t.Fatalf("printed command lacks the settings it needs: %s", line)
		}
	}
	out, err := exec.Command("sh", "-c", verify).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "audit chain intact: ") || !strings.Contains(string(out), "records in table "+st.TablePrefix+"Audit") ||
		strings.Contains(string(out), "intact: 0 records") {
		t.Fatalf("%s: %v\n%s", verify, err, out)
	}
	out, err = exec.Command("sh", "-c", export).Output()
	if err != nil {
		t.Fatalf("%s: %v", export, err)
	}
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec["hash"] == "" || rec["action"] == "" {
			t.Fatalf("export line %d: %v %s", lines+1, err, sc.Text())
		}
		lines++
	}
	if lines == 0 {
		t.Fatal("export printed no records")
	}
}
