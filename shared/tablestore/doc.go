// Package tablestore is domain.Store on Azure Table Storage (aztables
// v1.4.0), for the Functions runtime; it passes the same conformance suite
// (package storetest) as the in-memory store.
//
//	s, err := tablestore.New(ctx, os.Getenv("AzureWebJobsStorage"), tablestore.Options{})
//
// "UseDevelopmentStorage=true" means Azurite on 127.0.0.1:10002. New creates
// the missing tables (one list call when they all exist).
//
// # Tables and keys
//
// Ids are escaped into keys by EscapeKey: every byte outside [A-Za-z0-9-_.:|@]
// becomes "~XX" (reversible; keys are plain ASCII, free of / \ # ? ' % and
// control characters). Below, {id} is an escaped id, {t} a fixed-width UTC
// time "20061121090000.000000000" (sorts like time) and {gen} 12 random hex
// digits.
//
//	table          PartitionKey           RowKey                   holds
//	Requests       {id}                   "@"                      the request
//	RequestIndex   "p|"{principal}        {createdAt}|{id}|{gen}   every request of a principal
//	RequestIndex   "s|"{status}           {createdAt}|{id}|{gen}   requests in a polled status
//	Schedules      {id}                   "@"                      the schedule
//	ScheduleIndex  "pL|"{principal}       {start}|{id}|{gen}       live schedules (Status Provisioned)
//	ScheduleIndex  "pE|"{principal}       {start}|{id}|{gen}       ended schedules
//	ScheduleIndex  "tL|" / "tE|"{target}  {start}|{id}|{gen}       the same by target key
//	ScheduleIndex  "end-"YYYYMMDDHH       {end}|{id}|{gen}         due index: live schedules with an end
//	Grants         {grant key}            "@"                      the grant
//	GrantIndex     "unsettled"            {grant key}|{gen}        grants not known to match the directory
//	Policies       "policy"               {policy id}              all policies, one partition
//	Audit          "audit"                {MaxInt64-seq, 19 digits} records, newest first
//	Audit          "audit"                "head"                   chain head: last seq and hash
//
// Index entities carry the record's raw id and the properties queries
// filter on (kind, target key, principal), which the service evaluates.
//
// # How each query is served
//
//   - GetRequest, GetSchedule, GetGrant, GetPolicy: one point read.
//   - ListRequests: when every asked status is polled by the engine
//     (PendingApproval, PendingAdminDecision, Granted, PendingProvisioning),
//     from those status partitions merged in RowKey order, principal, kind
//     and target filtered by the service; else with a principal, from the
//     principal's partition (other statuses filtered after reading); else a
//     scan of Requests with a service-side filter, in id order (admin views
//     only: its cost grows with the table).
//   - ListSchedules: by principal, else by target, from the live partition
//     (plus the ended one with IncludeEnded), in start order; with neither,
//     a filtered scan of Schedules in id order.
//   - SchedulesEndingBy(t): one range query "PartitionKey ge 'end-' and
//     PartitionKey le end-<hour of t> and RowKey lt <t>}": only buckets up to
//     t's hour are read, and the service drops entries later than t. Entries
//     leave the index when a schedule ends or its end moves.
//   - UnsettledGrants: the small "unsettled" partition.
//   - ListPolicies: the "policy" partition. ListAudit: a RowKey range of the
//     audit partition, one query per page.
//
// Index reads return main entities: each index entry costs one point read
// (run eight at a time), which also proves the entry current. Pages are
// resumed after the last RowKey served (or PartitionKey, for scans); the
// cursor is opaque and tied to the index that made it.
//
// # Writes: conditional, index first, no lost entries
//
// Version is the entity's ETag. Updates are Replace with If-Match (412 →
// CodeConflict), creates are Insert (409 → CodeConflict), a missing entity
// is CodeNotFound (a conflict for grants, policies, alerts and queued mail,
// as in memstore). These reads and writes, and that mapping of the
// service's answers, are written once (table.go); each kind of record
// supplies only its key and its encoding.
//
// Index entries are never rewritten: each has a fresh {gen}, and the main
// entity lists the exact entries it relies on in its "Idx" property. A
// write inserts the entries the new content needs first, then writes the
// main entity, then deletes the entries it stopped naming. Hence:
//
//   - a crash after the index write and before the entity write leaves an
//     unreferenced entry, never a record missing from its index: a due
//     schedule always stays due until the write that ends it has landed;
//   - readers skip entries their main entity does not name, and delete
//     them once older than 10 minutes (younger ones may be a write in
//     flight; a writer never sends its entity more than a minute after its
//     index entries, each try bounded by TryTimeout);
//   - a writer losing a race (412) deletes only its own fresh entries, which
//     nobody else can name.
//
// To know which entries an update replaces, the store remembers, per id,
// the entries of the last version it read or wrote (keyed by ETag); on a
// miss an update first reads the entity (one more round trip, and stale
// versions fail before anything is written).
//
// # Retries
//
// The SDK's retry is off; the store retries 429, 5xx, timeouts and broken
// connections itself, with backoff (Options.MaxAttempts, RetryDelay), then
// answers CodeTransient. Every write carries a random WriteId: when a retry
// meets 409 or 412, the store reads the entity back, and if the WriteId is
// its own the earlier attempt landed and the write succeeded. So a lost
// answer never turns into a false conflict or a second entity.
//
// # Audit chain
//
// AppendAudit submits one entity group transaction in the "audit"
// partition: insert record n+1 and replace the head with (n+1, hash). The
// record's PrevHash is the head's hash and its Hash is domain.AuditHash.
// Of two appenders that read head n only one batch can insert record n+1;
// the other fails whole, re-reads the head and re-links. The head replace
// is conditional on the head's ETag when this process read it; after its
// own append (a batch returns no ETags) the unique insert of n+1 is the
// guard, sufficient because records are never deleted. The chain therefore
// never forks and verifies with domain.VerifyChain, oldest first. Steady
// state: one round trip per append.
//
// OpenAuditReader is the operator commands' way in (audit verify, audit
// export): it sends no CreateTable and no write, reports a missing audit
// table (CodeNotFound, naming table and prefix) instead of creating it, and
// Verify also fails on an empty chain, a gap in the sequence numbers, a
// missing head, or fewer records than the head names.
//
// # Mapping and limits
//
// Mapping is explicit (mapping.go): scalars are properties, times
// Edm.DateTime at millisecond precision plus an Int32 "<name>Ns" remainder
// (exact round trips; times come back in UTC), durations Edm.Int64, nested
// values (approval stages, holders, policy rules, audit details) JSON
// strings. Before sending, a record is checked against Table Storage's
// limits (64 KiB per string and 1 MiB per entity, counted in UTF-16; 1 KiB
// per key; years 1601–9999; valid UTF-8): anything over is refused with
// CodeInvalid naming the field, never truncated.
//
// # Round trips
//
// RoundTrips counts every HTTP request sent. Typical figures (Azurite): a
// point read 1; CreateRequest 3; CreateSchedule 4; an update that moves no
// index entry 1; a schedule ending 6; SchedulesEndingBy 1 + one per due
// schedule; PutGrant 1–2; AppendAudit 1 (2 on a cold start, 4 after losing
// a race).
package tablestore
