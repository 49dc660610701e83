-- Reads' audit entries committed asynchronously (ICR_AUDIT_READ_COMMIT=async, ADR 0049): each PostgreSQL
-- server start (pg_postmaster_start_time) during which the server ran in that mode. A new start after a
-- recorded one means PostgreSQL restarted while entries might not yet have reached the disk; the server then
-- writes a durable `audit-async-restart` entry naming the window, so that a possible loss is never silent.
create table if not exists audit_async_epoch (
  postmaster_start timestamptz primary key,
  noted_at timestamptz not null default now()
);
