package weblogin

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The base64 decoder skips \r and \n; open must not, or a cookie value
// would have more than one accepted spelling.
func TestOpenRefusesLineBreaks(t *testing.T) {
	w, err := New(context.Background(), Config{
		Issuer: "https://login.example.com/v2.0", ClientID: "c", RedirectURL: "https://app.example/api/approvals/callback",
		CookieKeys: [][]byte{bytes.Repeat([]byte{7}, 32)}, SecureCookies: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := w.seal(kindSession, sessionState{ID: "i", OID: "o", Expires: 1})
	if err != nil {
		t.Fatal(err)
	}
	var st sessionState
	if err := w.open(kindSession, sealed, &st); err != nil || st.OID != "o" {
		t.Fatalf("open: %+v %v", st, err)
	}
	for _, v := range []string{sealed[:4] + "\n" + sealed[4:], sealed[:4] + "\r\n" + sealed[4:], sealed + "\n", sealed + "="} {
		if err := w.open(kindSession, v, &st); err == nil {
			t.Errorf("opened %q", v)
		}
	}
	// Kinds are separate: a login seal does not open as a session.
	if err := w.open(kindLogin, sealed, &loginState{}); err == nil {
		t.Error("session seal opened as a login seal")
	}
	if strings.Contains(sealed, "\n") {
		t.Fatal("seal has a line break")
	}
}
