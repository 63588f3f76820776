package lambdaemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// The test binary doubles as the function: re-run with LAMBDAEMU_CHILD set,
// it starts aws-lambda-go's real runtime loop against the emulator.
func TestMain(m *testing.M) {
	switch os.Getenv("LAMBDAEMU_CHILD") {
	case "function":
		lambda.Start(child)
		return
	case "exit":
		// What jitpim does when its configuration is wrong: it never
		// reaches the runtime loop and exits (Lambda's Runtime.ExitError).
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func child(ctx context.Context, ev json.RawMessage) (any, error) {
	var in map[string]any
	_ = json.Unmarshal(ev, &in)
	if in["fail"] != nil {
		return nil, errors.New("asked to fail")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	if in["version"] == "2.0" { // a Function URL event: answer like a web app
		var req events.LambdaFunctionURLRequest
		_ = json.Unmarshal(ev, &req)
		b, _ := json.Marshal(req)
		return events.LambdaFunctionURLResponse{StatusCode: 201, Headers: map[string]string{"X-Req": lc.AwsRequestID},
			Cookies: []string{"a=1", "b=2"}, Body: string(b)}, nil
	}
	dl, _ := ctx.Deadline()
	return map[string]any{"echo": in, "id": lc.AwsRequestID, "deadline_in_future": dl.After(time.Now())}, nil
}

func start(t *testing.T, mode string) *Emulator {
	t.Helper()
	e, err := New(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	if err := e.Start(self, append(os.Environ(), "LAMBDAEMU_CHILD="+mode), io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func TestInvocations(t *testing.T) {
	e := start(t, "function")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ { // one environment serves invocation after invocation
		out, err := e.Invoke(ctx, []byte(`{"timer":"expirySweep"}`))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		_ = json.Unmarshal(out, &got)
		if got["echo"].(map[string]any)["timer"] != "expirySweep" || got["id"] == "" || got["deadline_in_future"] != true {
			t.Fatalf("answer: %s", out)
		}
	}
	_, err := e.Invoke(ctx, []byte(`{"fail":true}`))
	var fe *FunctionError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "asked to fail") {
		t.Fatalf("error invocation: %v", err)
	}
	if _, err := e.Invoke(ctx, []byte(`{"after":"error"}`)); err != nil {
		t.Fatalf("the function must keep serving after an error: %v", err)
	}
}

func TestFunctionURL(t *testing.T) {
	e := start(t, "function")
	srv := httptest.NewServer(e.FunctionURL())
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/api/x?q=1", bytes.NewReader([]byte{0xff, 0x01}))
	req.Header.Add("Cookie", "s=1; t=2")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 201 || res.Header.Get("X-Req") == "" || strings.Join(res.Header.Values("Set-Cookie"), "|") != "a=1|b=2" {
		t.Fatalf("response: %d %v", res.StatusCode, res.Header)
	}
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.RawPath != "/api/x" || ev.RawQueryString != "q=1" || !ev.IsBase64Encoded || ev.Body != "/wE=" ||
		strings.Join(ev.Cookies, "|") != "s=1|t=2" || ev.Headers["x-multi"] != "a,b" || ev.RequestContext.HTTP.Method != "POST" {
		t.Fatalf("event: %+v", ev)
	}
}

func TestExitAndInitError(t *testing.T) {
	e := start(t, "exit")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.Invoke(ctx, []byte(`{}`)); !errors.Is(err, ErrInit) {
		t.Fatalf("invoke after the function exited: %v", err)
	}

	// A runtime that reports its failure through /init/error.
	e2, err := New(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	res, err := http.Post("http://"+e2.Addr()+"/2018-06-01/runtime/init/error", "application/json",
		strings.NewReader(`{"errorMessage":"no config","errorType":"Runtime.Config"}`))
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("init/error: %v %v", res, err)
	}
	res.Body.Close()
	if _, err := e2.Invoke(ctx, []byte(`{}`)); !errors.Is(err, ErrInit) || !strings.Contains(e2.InitError(), "no config") {
		t.Fatalf("after init/error: %v %q", err, e2.InitError())
	}
	// Unknown ids are refused, as by the Runtime API.
	res, err = http.Post("http://"+e2.Addr()+"/2018-06-01/runtime/invocation/nope/response", "application/json", strings.NewReader(`{}`))
	if err != nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown id: %v %v", res, err)
	}
	res.Body.Close()
}
