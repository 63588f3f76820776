// Package servicenow lets a ServiceNow ticket start a jitpim activation
// without letting ServiceNow decide it.
//
// ServiceNow (a Business Rule with RESTMessageV2, or a Flow Designer REST
// step) POSTs a webhook naming a ticket and a target. jitpim then:
//
//  1. authenticates the call (WebhookAuth.Verify: an HMAC-SHA256 signature
//     over timestamp and body, or HTTP basic auth where a signature cannot
//     be computed), so a forged or replayed-late call is refused;
//  2. parses it strictly (ParseWebhook), so a typo or an injected field
//     fails loudly instead of being ignored;
//  3. reads the ticket back from the Table API (Client.GetTicket) rather
//     than trusting what the webhook says about it: the webhook only names
//     the ticket;
//  4. checks the ticket (Rules.Check): its state must still allow work, a
//     change's planned window must cover the access window, and it returns
//     the people the ticket lets request. The engine resolves those to
//     Entra object ids and compares ids, never names or e-mail strings;
//  5. records the outcome on the ticket (Client.AddWorkNote).
//
// Errors are *domain.Error values: CodeUnauthorized for authentication,
// CodeInvalid naming the field for bad input, CodeNotFound, CodeForbidden
// for a ticket that does not allow the activation, CodeTransient for
// 429/5xx/timeouts. No secret or password ever appears in an error.
package servicenow
