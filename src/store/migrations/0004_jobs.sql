-- The job queue (ADR 0003): a PostgreSQL table claimed with FOR UPDATE SKIP LOCKED, usable on PGlite and
-- PostgreSQL alike. Jobs are enqueued inside the caller's transaction (outbox). Jobs that share an
-- ordering key (the person, for clinical work) run strictly in the order they were enqueued.

create table job (
  id            bigserial   primary key,
  queue         text        not null,
  ordering_key  text,
  payload       text        not null,
  status        text        not null default 'pending' check (status in ('pending', 'running', 'done', 'failed')),
  attempts      integer     not null default 0,
  max_attempts  integer     not null default 5,
  run_after     timestamptz not null default now(),
  locked_until  timestamptz,
  last_error    text,
  created_at    timestamptz not null default now(),
  finished_at   timestamptz
);

create index job_ready_idx on job (queue, id) where status in ('pending', 'running');
create index job_ordering_idx on job (ordering_key, id) where status in ('pending', 'running', 'failed');
create index job_failed_idx on job (queue, id) where status = 'failed';
