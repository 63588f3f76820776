package graphsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Mail is one message accepted by sendMail.
type Mail struct {
	ID              string          `json:"id"`
	From            string          `json:"from"` // the mailbox in the sendMail path
	To              []string        `json:"to"`
	Cc              []string        `json:"cc,omitempty"`
	Bcc             []string        `json:"bcc,omitempty"`
	Subject         string          `json:"subject"`
	ContentType     string          `json:"contentType"` // Text or HTML
	Body            string          `json:"body"`
	SaveToSentItems bool            `json:"saveToSentItems"`
	SentDateTime    time.Time       `json:"sentDateTime"`
	Request         json.RawMessage `json:"request"` // the request body as received (gunzipped)
}

type recipient struct {
	EmailAddress struct {
		Address string `json:"address"`
		Name    string `json:"name"`
	} `json:"emailAddress"`
}

func addresses(rs []recipient) []string {
	var out []string
	for _, r := range rs {
		if r.EmailAddress.Address != "" {
			out = append(out, r.EmailAddress.Address)
		}
	}
	return out
}

// sendMail accepts the documented camelCase body and the PascalCase one the
// Go SDK sends (Message, SaveToSentItems): JSON keys match case-insensitively.
func (s *Server) sendMail(st *state, from *User, body []byte) (int, obj, *graphError) {
	var in struct {
		Message *struct {
			Subject string `json:"subject"`
			Body    *struct {
				ContentType string `json:"contentType"`
				Content     string `json:"content"`
			} `json:"body"`
			ToRecipients  []recipient `json:"toRecipients"`
			CcRecipients  []recipient `json:"ccRecipients"`
			BccRecipients []recipient `json:"bccRecipients"`
		} `json:"message"`
		SaveToSentItems json.RawMessage `json:"saveToSentItems"`
	}
	if gerr := decodeBody(body, &in); gerr != nil {
		return 0, nil, gerr
	}
	if in.Message == nil {
		return 0, nil, errBadRequest("ErrorInvalidArgument", "The message parameter is required.")
	}
	m := Mail{
		ID:              uuid.NewString(),
		From:            from.UserPrincipalName,
		To:              addresses(in.Message.ToRecipients),
		Cc:              addresses(in.Message.CcRecipients),
		Bcc:             addresses(in.Message.BccRecipients),
		Subject:         in.Message.Subject,
		ContentType:     "Text",
		SaveToSentItems: true,
		SentDateTime:    s.opts.Now().UTC(),
		Request:         json.RawMessage(append([]byte(nil), body...)),
	}
	if len(m.To)+len(m.Cc)+len(m.Bcc) == 0 {
		return 0, nil, errBadRequest("ErrorInvalidRecipients", "At least one recipient is not valid., Recipient is missing.")
	}
	if in.Message.Body != nil {
		m.Body = in.Message.Body.Content
		if strings.EqualFold(in.Message.Body.ContentType, "html") {
			m.ContentType = "HTML"
		}
	}
	// saveToSentItems is a boolean; the documentation's own example sends
	// the string "false", which Graph accepts.
	switch strings.ToLower(strings.Trim(string(in.SaveToSentItems), `" `)) {
	case "", "null", "true":
	case "false":
		m.SaveToSentItems = false
	default:
		return 0, nil, errBadRequest("ErrorInvalidArgument", "Invalid value for saveToSentItems.")
	}
	st.outbox = append(st.outbox, m)
	return http.StatusAccepted, nil, nil
}
