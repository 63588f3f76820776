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
//	ScheduleIndex  "end-"YYYYMMDDHH       {due}|{id}|{gen}         due index: Schedule.DueAt of live schedules
//	Grants         {grant key}            "@"                      the grant
//	GrantIndex     "unsettled"            {grant key}|{gen}        grants not known to match the directory
//	Policies       "policy"               {policy id}              all policies, one partition
//	Policies       "policy"               "~~generation"           replaced by every policy write
//	Audit          "audit"                {MaxInt64-seq, 19 digits} records, newest first
//	Audit          "audit"                "head"                   chain head: last seq and hash
//	Audit          "audit"                "p|"{t}|{t}|{gen}        records pending, not yet chained
//	Requests, Schedules, Grants  {id}     "~~audit|"{gen}          commit marker of a pending record
//	Policies       "policy"               "~~audit|"{gen}          the same, for a policy change
//	Mail           "queue"                "~~audit|"{gen}          the same, for a mail given up
//
// Index entities carry the record's raw id and the properties queries
// filter on (kind, target key, principal), which the service evaluates.
//
// # How each query is served
//
//   - GetRequest, GetSchedule, GetGrant: one point read.
//   - GetPolicy, ListPolicies: one point read of the generation row, and
//     the "policy" partition only when the row's ETag differs from the one
//     the process's cached listing was read under (see Policy cache).
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
//   - SchedulesDueBy(t): one range query "PartitionKey ge 'end-' and
//     PartitionKey le end-<hour of t> and RowKey lt <t>}": only buckets up to
//     t's hour are read, and the service drops entries later than t. An
//     entry's time is the schedule's DueAt (its start while it awaits it,
//     else its end); entries move when it starts or its end moves, and
//     leave the index when it ends.
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
// # Policy cache
//
// Every activation needs the effective policy, which may be inherited
// (a tier, the default), so it needs the whole partition. The store keeps
// the last listing in process under the ETag of the "~~generation" row,
// read just before the listing. Each PutPolicy replaces that row in the
// same entity group transaction as the policy (and its audit markers), so
// the row's ETag changes exactly when a policy does, in whichever process:
// a read costs one point read while nothing changed, and a change is seen
// by the next read anywhere. Read generation-then-listing, a write landing
// in between leaves a listing newer than its generation, which only causes
// one more listing later. A store that has no row yet gets one inserted by
// the first reader. A writer that does not know the row (a binary from
// before it, during a deployment) is covered by an age bound: a listing is
// trusted for at most one minute (policyCacheMaxAge). Cached entities are
// decoded afresh on every read, so callers never share a policy's slices.
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
// # Audit outbox and chain: no record lost, no writer contending
//
// A change's audit records are written with the change or not at all.
// CreateRequest, UpdateRequest, CreateSchedule, UpdateSchedule, PutGrant,
// PutPolicy and UpdateMail (a mail given up) take the records of the
// change they make:
//
//  0. each record is inserted as a pending row in the audit partition,
//     RowKey "p|"{record time}|{t written}|{gen} (fresh keys: writers
//     never contend; the chain follows key order);
//  1. index entries, as below (policies have none);
//  2. the entity and one marker row per record, RowKey "~~audit|"{gen}
//     (named by the pending row) in the entity's own partition, go in one
//     entity group transaction: the marker exists exactly when the change
//     does. The SDK drops the ETags of a transaction's answer; a pipeline
//     policy (batchETags) reads them, so the entity's new Version costs no
//     read (when an answer lacks them the entity is read back).
//
// A write that fails for sure deletes its pending rows. The chain writer
// (ChainAudit; the expirySweep timer runs it after the sweep, every
// minute, and ListAudit before its first page) reads the pending rows, keeps those whose marker exists (or
// that need none: AppendAudit's records, which accompany no write), and
// links up to 49 per entity group transaction of the audit partition:
// insert records n+1..n+k (RowKey MaxInt64-seq, 19 digits, newest first),
// replace the head ("head": last seq and hash), delete the k pending rows
// If-Match. The record's PrevHash is the previous hash and its Hash is
// domain.AuditHash. Two chain writers racing for the same rows cannot both
// win: the loser's transaction fails whole (record n+1 exists, or a
// pending row is gone) and it reads again, so the chain never forks and
// never links a record twice; VerifyChain holds, oldest first. A pending
// row whose marker is still missing staleGrace after it was written (by
// the writer's clock, as index entries are aged)
// belongs to a change that never happened (a crash between steps 0 and
// 2, each write bounded by writeDeadline): the chain writer deletes it in
// its transaction, unchained. Markers are deleted once linked.
//
// Crash safety, step by step: after 0 only, an orphan pending row, dropped
// after staleGrace; after 2, change and marker both exist and the record
// is chained whenever a chain writer runs; after a lost answer on 2, the
// retry meets 409/412 and tells its own landed write by the WriteId (as
// above), or by its marker when a later write already replaced it (the
// Version it returns then fails any write conditional on it). So the count of records in the chain equals the count of changes
// made (BenchmarkAuditedChanges counts both). Appends never contend with
// each other: the only contended row, the head, is written by chain
// writers, once per 49 records.
//
// OpenAuditReader is the operator commands' way in (audit verify, audit
// export): it sends no CreateTable and no write, reports a missing audit
// table (CodeNotFound, naming table and prefix) instead of creating it, and
// Verify also fails on an empty chain, a gap in the sequence numbers, a
// missing head, or fewer records than the head names. Pending counts the
// records not linked yet; a chain holding none linked says so.
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
// index entry 1; a schedule ending 6; SchedulesDueBy 1 + one per due
// schedule; PutGrant 1–2; a write with audit records 2 more (the pending
// rows and the read-back); GetPolicy and ListPolicies 1 while no policy
// changed, else 2; AppendAudit 1; ChainAudit 2 when nothing is pending,
// else 3 + one marker read and one marker delete per record.
//
// The engine adds to these no read of what the same call has just read
// or written: it reuses the grant it last saw (its writes stay conditional
// on that version, and a lost race reads afresh). TestRoundTrips holds
// each operation to its figure.
package tablestore
