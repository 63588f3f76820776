// Package domain holds jitpim's types, policy rules and the request state
// machine. It imports only the standard library: storage, Microsoft Graph,
// ServiceNow, mail and the Functions protocol live in adapter packages that
// implement the ports declared here.
package domain
