// Package infra holds the Bicep templates that deploy jitpim to Azure and
// infra_test.go, which reads them as text and checks their security
// properties (no bicep CLI is needed to run it).
package infra
