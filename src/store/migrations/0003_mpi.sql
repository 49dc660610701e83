-- The master patient index (ADR 0014). A person is a cluster of source patient records (Patient
-- resources); source records are never destroyed, only linked. `resource.person_id` (0001) is the
-- person key of each clinical row; these tables say which person each source Patient belongs to and why.

create table person (
  id            text        primary key,
  -- Golden demographics (name, birth date, sex, address, NHS number, source of each field) as JSON.
  golden        jsonb       not null default '{}'::jsonb,
  -- Disagreements between the linked source records (two dates of birth, different sex, …).
  conflicts     jsonb       not null default '[]'::jsonb,
  has_conflicts boolean     not null default false,
  -- PDS confidentiality: R (restricted) or V (very restricted) withholds address, telecom and GP.
  restricted    boolean     not null default false,
  -- A person emptied by a merge points at the person that absorbed it (the row is kept).
  merged_into   text,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);

create index person_conflicts_idx on person (updated_at) where has_conflicts;

create table person_link (
  -- The source Patient resource id: each source record belongs to exactly one person.
  patient_id    text        primary key,
  person_id     text        not null references person (id),
  -- new | deterministic | probabilistic | manual | merge
  kind          text        not null check (kind in ('new', 'deterministic', 'probabilistic', 'manual', 'merge')),
  -- How it was matched: source-identifier | nhs-number | probabilistic | none | manual | merge.
  method        text        not null,
  score         double precision,
  vector        jsonb,
  rule_version  text,
  created_by    text        not null,
  reason        text,
  at            timestamptz not null default now(),
  -- The normalised match record (demographics only; no clinical data) used for candidate comparison.
  record        jsonb       not null,
  nhs_number    text,
  nhs_verified  boolean     not null default false,
  -- Which source (feed) sent this record and whether it is the Spine (PDS), for golden demographics.
  source        text,
  -- Merged (HL7 A40) records are retired into the surviving source record; never deleted.
  retired_into  text
);

create index person_link_person_idx on person_link (person_id);
create index person_link_nhs_idx on person_link (nhs_number) where nhs_number is not null;

-- Source identifiers (system|value) of each source record: the same identifier is the same source record.
create table person_identifier (
  system        text not null,
  value         text not null,
  patient_id    text not null,
  primary key (system, value, patient_id)
);

create index person_identifier_patient_idx on person_identifier (patient_id);

-- Blocking keys (from the MPI core's blocking rules): candidate lookup is an index scan on key.
create table person_block (
  key           text not null,
  patient_id    text not null,
  primary key (key, patient_id)
);

create index person_block_patient_idx on person_block (patient_id);

-- Append-only log of every MPI operation: who, when, why.
create table mpi_event (
  id            bigint generated always as identity primary key,
  at            timestamptz not null default now(),
  -- create | link | unlink | merge | decide | review | golden | verify
  kind          text        not null,
  actor         text        not null,
  reason        text,
  person_id     text,
  other_person_id text,
  patient_ids   text[]      not null default '{}',
  detail        jsonb       not null default '{}'::jsonb
);

create index mpi_event_person_idx on mpi_event (person_id, at);
create index mpi_event_patients_idx on mpi_event using gin (patient_ids);

-- Possible matches waiting for a data steward.
create table mpi_review (
  id              text        primary key,
  patient_id      text        not null,
  candidate_id    text        not null,
  score           double precision not null,
  vector          jsonb       not null,
  rule_version    text        not null,
  -- open | linked | not-same | withdrawn
  status          text        not null default 'open' check (status in ('open', 'linked', 'not-same', 'withdrawn')),
  created_at      timestamptz not null default now(),
  decided_by      text,
  decided_at      timestamptz,
  reason          text
);

create unique index mpi_review_open_pair_idx on mpi_review (least(patient_id, candidate_id), greatest(patient_id, candidate_id))
  where status = 'open';
create index mpi_review_status_idx on mpi_review (status, created_at);

-- Manual decisions about pairs of source records; automatic matching always respects them.
create table mpi_decision (
  patient_a     text        not null,
  patient_b     text        not null,
  -- same | not-same
  decision      text        not null check (decision in ('same', 'not-same')),
  decided_by    text        not null,
  reason        text        not null,
  at            timestamptz not null default now(),
  primary key (patient_a, patient_b),
  check (patient_a < patient_b)
);

create index mpi_decision_b_idx on mpi_decision (patient_b);

-- Unlink and merge re-key every version of the moved source records' resources by patient_id.
create index resource_version_patient_idx on resource_version (patient_id) where patient_id is not null;
