// Package wire is the Graph PIM JSON contract shared by the server and its
// clients: the shapes of schedule requests, schedules and instances,
// approvals, policies and their rules, collections and errors, as
// shared/httpapi writes them and shared/cli and shared/policyfile read
// them. One definition keeps the two sides from drifting apart: a field
// renamed or an omitempty dropped here changes both at once.
//
// The types are data only, with the JSON names, omitempty and enum
// spellings of Microsoft Graph (and jitpim's few extensions, named where
// they are). Mapping to and from the domain lives with each side, which
// knows its own rules: the server validates what it reads, clients are
// lenient.
//
// Ids that only the server writes are domain.ObjectID, so a client reads
// them in the canonical spelling. Ids a client sends (request bodies,
// approvers and tier targets in a PATCH) stay strings: the server parses
// them with domain.ParseObjectID and refuses a bad one as it was sent.
package wire
