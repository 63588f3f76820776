package approvallink

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jitpim/jitpim/shared/domain"
)

// Links is the one place that knows what a mailed link looks like: it
// builds the approval, confirmation and review links the engine and the
// review service put in mails, opens them for the pages (signature,
// expiry and purpose), and spends the single-use ones.
type Links struct {
	signer *Signer
	base   string
	used   UsedLinks
	now    func() time.Time
}

// UsedLinks records spent link nonces; the store implements it with a
// conditional create, so a link is spent once even under concurrency.
type UsedLinks interface {
	ClaimOnce(ctx context.Context, key string, expires time.Time) error
}

// Paths of the pages behind the links, under the public URL.
const (
	PagePrefix = "/api/approvals/"
	decidePath = PagePrefix + "r/"
	reviewPath = PagePrefix + "review/"
)

// NewLinks builds the links of a deployment reachable at publicURL.
func NewLinks(signer *Signer, publicURL string, used UsedLinks, now func() time.Time) *Links {
	return &Links{signer: signer, base: strings.TrimRight(publicURL, "/"), used: used, now: now}
}

// ApprovalLink is an approver's link to decide one stage of a request,
// expiring with the stage.
func (l *Links) ApprovalLink(requestID, stageID string, approverID domain.ObjectID, expires time.Time) (string, error) {
	return l.make(decidePath, Claims{Purpose: PurposeApprove, RequestID: requestID, StageID: stageID, SubjectID: string(approverID), Expires: expires})
}

// ConfirmLink is a requester's link to confirm, with MFA, an activation a
// ticket started.
func (l *Links) ConfirmLink(requestID, stageID string, requesterID domain.ObjectID, expires time.Time) (string, error) {
	return l.make(decidePath, Claims{Purpose: PurposeConfirm, RequestID: requestID, StageID: stageID, SubjectID: string(requesterID), Expires: expires})
}

// ReviewLink is a reviewer's link to the page of an access review
// instance, expiring when the instance ends (reminders carry fresh links).
func (l *Links) ReviewLink(definitionID, instanceID string, reviewerID domain.ObjectID, expires time.Time) (string, error) {
	return l.make(reviewPath, Claims{Purpose: PurposeReview, RequestID: instanceID, StageID: definitionID, SubjectID: string(reviewerID), Expires: expires})
}

// make signs the claims, bounding the lifetime to what Verify accepts.
func (l *Links) make(path string, c Claims) (string, error) {
	if latest := l.now().Add(MaxLifetime - time.Hour); c.Expires.IsZero() || c.Expires.After(latest) {
		c.Expires = latest
	}
	tok, err := l.signer.Sign(c)
	if err != nil {
		return "", err
	}
	return l.base + path + tok, nil
}

// Open verifies a token from a page's URL and checks that its purpose is
// one the page serves. It does not check who opens it: the page compares
// SubjectID with the signed-in user.
func (l *Links) Open(token string, purposes ...string) (Claims, error) {
	c, err := l.signer.Verify(token)
	if err != nil {
		return c, err
	}
	if !slices.Contains(purposes, c.Purpose) {
		return Claims{}, domain.Errorf(domain.CodeForbidden, "this link is not meant for this page")
	}
	return c, nil
}

// Spend marks a single-use link used once its decision is made; spending
// it again is not an error (the decision itself is idempotent).
func (l *Links) Spend(ctx context.Context, c Claims) error {
	err := l.used.ClaimOnce(ctx, "link:"+c.Nonce, c.Expires)
	if domain.IsCode(err, domain.CodeConflict) {
		return nil
	}
	return err
}
