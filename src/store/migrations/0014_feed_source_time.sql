-- The source's own time for the event each feed-written resource last reflects (HL7 v2 EVN-2, else
-- MSH-7), so that a message older than what is stored never overwrites newer data (docs/feeds.md,
-- "Order"). One row per current resource written from a feed message; written in the same transaction
-- as the resource.
create table feed_source_time (
  resource_type  text        not null,
  id             text        not null,
  source_time    timestamptz not null,
  feed_id        text        not null,
  message_id     bigint,
  primary key (resource_type, id)
);
