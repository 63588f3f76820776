package servicenow_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jitpim/jitpim/shared/domain"
	"github.com/jitpim/jitpim/shared/servicenow"
)

// The client's tests against the ServiceNow simulator live in local/snsim
// (shared/ never imports local/); these need no simulator.

func TestNewConfig(t *testing.T) {
	for _, c := range []struct {
		cfg   servicenow.Config
		field string
	}{
		{servicenow.Config{User: "u", Password: "p"}, "instance_url"},
		{servicenow.Config{InstanceURL: "http://contoso.service-now.com", User: "u", Password: "p"}, "instance_url"},
		{servicenow.Config{InstanceURL: "ftp://contoso.service-now.com", User: "u", Password: "p"}, "instance_url"},
		{servicenow.Config{InstanceURL: "https://contoso.service-now.com/api", User: "u", Password: "p"}, "instance_url"},
		{servicenow.Config{InstanceURL: "https://u:p@contoso.service-now.com", User: "u", Password: "p"}, "instance_url"},
		{servicenow.Config{InstanceURL: "https://contoso.service-now.com", Password: "p"}, "user"},
		{servicenow.Config{InstanceURL: "https://contoso.service-now.com", User: "u"}, "password"},
	} {
		_, err := servicenow.New(c.cfg)
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalid || de.Field != c.field {
			t.Errorf("%+v: %v", c.cfg, err)
		}
	}
	for _, u := range []string{"https://contoso.service-now.com", "https://contoso.service-now.com/", "http://127.0.0.1:7095", "http://localhost:7095"} {
		if _, err := servicenow.New(servicenow.Config{InstanceURL: u, User: "u", Password: "p"}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// TestReferenceLinks reads reference fields in the {"link","value"} shape
// an instance returns when a proxy drops sysparm_exclude_reference_link.
func TestReferenceLinks(t *testing.T) {
	var mu sync.Mutex
	var seen url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.URL.Query()
		mu.Unlock()
		io.WriteString(w, `{"result":[{"sys_id":"0123456789abcdef0123456789abcdef","number":"INC7","state":"2",`+
			`"caller_id.sys_id":{"link":"https://x/api/now/table/sys_user/abc","value":"abc"},"caller_id.user_name":"adam"}]}`)
	}))
	defer srv.Close()
	c, _ := servicenow.New(servicenow.Config{InstanceURL: srv.URL, User: "u", Password: "p"})
	tk, err := c.GetTicket(context.Background(), "incident", "INC7")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Caller.SysID != "abc" || tk.Caller.UserName != "adam" {
		t.Errorf("caller %+v", tk.Caller)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen.Get("sysparm_query") != "number=INC7" || seen.Get("sysparm_limit") != "1" ||
		!strings.Contains(seen.Get("sysparm_fields"), "caller_id.user_name") || seen.Get("sysparm_display_value") != "false" {
		t.Errorf("query %v", seen)
	}
}
