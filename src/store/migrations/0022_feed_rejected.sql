-- Rejected HL7 v2 messages kept for integration engineers (issue 11, ADR 0046): every message answered AR or
-- AE at intake, exactly as received (raw bytes), with the feed when the sender was recognised, the sender's
-- MSH-3/MSH-4/MSH-10 as far as they could be read, the ACK code and the reason sent in ERR, and the outcome
-- of its last replay. Never indexed for search, never shown in the shared record. Bounded: rows older than
-- the retention period (ICR_REJECTED_RETENTION_DAYS) and beyond the newest ICR_REJECTED_MAX are deleted as
-- new ones arrive; the feed's rejected counter (feed.rejected_count) keeps counting.
create table feed_rejected (
  id                   bigserial   primary key,
  -- null: the sender matched no registered feed.
  feed_id              text        references feed (id),
  sending_application  text        not null default '',
  sending_facility     text        not null default '',
  control_id           text        not null default '',
  message_type         text        not null default '',
  raw                  bytea       not null,
  ack_code             text        not null check (ack_code in ('AE', 'AR')),
  reason               text        not null,
  -- HL7 table 0357 code and the ERR location (segment^sequence^field), when there is one.
  error_code           text,
  error_location       text,
  remote_address       text,
  connection_id        text,
  received_at          timestamptz not null default now(),
  -- The last replay: when, by whom, the text replayed when edited, its ACK code and reason, and the inbox
  -- message it became when accepted (then it is applied once, through the inbox, and not replayed again).
  replay_count         integer     not null default 0,
  replayed_at          timestamptz,
  replayed_by          text,
  replayed_raw         bytea,
  replay_ack           text        check (replay_ack in ('AA', 'AE', 'AR')),
  replay_reason        text,
  inbox_message_id     bigint      references feed_message (id)
);

create index feed_rejected_feed_idx on feed_rejected (feed_id, id);
create index feed_rejected_received_idx on feed_rejected (received_at);
