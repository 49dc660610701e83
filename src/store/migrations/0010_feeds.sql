-- Organisations and their feeds (issue 11, DESIGN.md §8), the feed's testers, and the raw inbox of
-- messages received over MLLP (committed before the ACK). Feed status is a plain column the read path
-- filters on (data of a feed in `testing` is hidden except from its testers).

create table organisation (
  ods         text        primary key,
  name        text        not null,
  kind        text        not null check (kind in ('gp', 'acute', 'community', 'mental-health', 'social-care',
                                                   'ambulance', 'out-of-hours', 'voluntary', 'spine')),
  created_at  timestamptz not null default now()
);

create table feed (
  id                    text        primary key,
  org_ods               text        not null references organisation (ods),
  system_name           text,
  protocol              text        not null check (protocol in ('mllp', 'fhir', 'file')),
  -- How an MLLP sender is recognised: MSH-3 and MSH-4 (either may be null: matches any).
  sending_application   text,
  sending_facility      text,
  status                text        not null default 'testing' check (status in ('testing', 'live', 'suspended')),
  approved_by           text,
  approved_at           timestamptz,
  suspended_reason      text,
  suspended_at          timestamptz,
  created_at            timestamptz not null default now(),
  -- Counters kept as the feed's messages are refused or filtered (never the data itself).
  rejected_count        bigint      not null default 0,
  excluded_sensitive    bigint      not null default 0
);

create index feed_sender_idx on feed (sending_facility, sending_application) where protocol = 'mllp';

-- Users who may see a testing feed's data before it is approved.
create table feed_tester (
  feed_id  text not null references feed (id),
  user_id  text not null,
  primary key (feed_id, user_id)
);

-- The raw inbox: every message accepted from a known sender, exactly as received, before its ACK.
-- A repeat of (feed, MSH-3, MSH-4, MSH-10) is not stored twice.
create table feed_message (
  id                   bigserial   primary key,
  feed_id              text        not null references feed (id),
  sending_application  text        not null,
  sending_facility     text        not null,
  control_id           text        not null,
  message_type         text        not null,
  raw                  text        not null,
  received_at          timestamptz not null default now(),
  remote_address       text,
  connection_id        text,
  status               text        not null default 'received' check (status in ('received', 'processed', 'failed')),
  error                text,
  processed_at         timestamptz,
  job_id               bigint,
  unique (feed_id, sending_application, sending_facility, control_id)
);

create index feed_message_status_idx on feed_message (feed_id, status, id);
