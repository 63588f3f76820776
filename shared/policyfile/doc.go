// Package policyfile is jitpim's policy as code: it parses and validates the
// YAML policy file (every problem as file:line), reads the live state
// through the API, plans the difference in readable lines, and applies it
// through the same audited API requests a person would make. It never
// writes storage or the directory itself, and it refuses to give back
// what an access review or an administrator removed unless told to.
package policyfile
