-- The admin portal's feed page charts each feed's messages per hour and finds its newest message: both
-- read a feed's inbox by arrival time.
create index feed_message_received_idx on feed_message (feed_id, received_at);
