-- The audit trail (DESIGN.md §7, ADR 0019): append-only and tamper-evident without a global lock.
--
-- audit_entry    one row per access or refusal, inserted in the caller's own transaction (a write's entry
--                commits with the write). It carries its own content hash; nothing else is shared between
--                writers, so concurrent requests never wait on each other here.
-- audit_pending  the outbox of entries not yet linked into the chain (a sequence number only).
-- audit_chain    the hash chain: the sealer links committed entries in order, in short transactions of its
--                own. Row n holds the entry's content hash and hash(row n-1's chain hash, n, seq, content hash).
--
-- The application role may only insert and select audit_entry and audit_chain (docs/audit.md gives the
-- grants); it may delete from audit_pending, which holds no content: an entry taken out of the outbox
-- without being sealed is found by `icr audit verify` as unchained.

create table audit_entry (
  seq           bigserial   primary key,
  id            text        not null unique,
  recorded_at   timestamptz not null,
  action        text        not null,
  outcome       text        not null check (outcome in ('allowed', 'refused')),
  actor_kind    text        not null check (actor_kind in ('user', 'system')),
  actor_id      text        not null,
  actor_name    text,
  org_ods       text,
  role          text,
  channel       text,
  request_id    text,
  patient_id    text,
  person_id     text,
  what          text        not null,
  returned      integer,
  categories    text[],
  basis         text,
  reason        text,
  error_code    text,
  content_hash  text        not null
);

-- The privacy officer's searches: by time, by person (the access report), by patient, by user.
create index audit_entry_time_idx on audit_entry (recorded_at);
create index audit_entry_person_idx on audit_entry (person_id, recorded_at) where person_id is not null;
create index audit_entry_patient_idx on audit_entry (patient_id, recorded_at) where patient_id is not null;
create index audit_entry_actor_idx on audit_entry (actor_id, recorded_at);

create table audit_pending (
  seq  bigint primary key
);

create table audit_chain (
  position      bigint      primary key,
  seq           bigint      not null unique,
  content_hash  text        not null,
  prev_hash     text        not null,
  chain_hash    text        not null,
  sealed_at     timestamptz not null default now()
);
