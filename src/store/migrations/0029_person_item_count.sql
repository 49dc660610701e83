-- The viewer summary's counts kept with the rows (issue 12, ADR 0055). The summary showed how many items each
-- card holds and, per source (feed and organisation), how many visible items the person has and when the
-- latest arrived, by counting every row of the person on every request: its cost grew with the record. The
-- counts are kept here, one row per person × resource type × feed × source organisation × category ×
-- entered-in-error × summary status (the row's access facts and card facts), so that the read applies the
-- access scope (`scopeClause`, the same clause as over `resource`) to a handful of counter rows.
--
-- Kept by statement-level triggers on `resource`, in the statement that writes the rows, whatever writes
-- them (the store's put and tombstone, MPI person moves and merges, loads, later migrations): a current row
-- that is not a tombstone and has a person is counted; `received` is the latest coalesce(received_at,
-- last_updated) among the rows counted. When a statement removes or changes the row that held the latest
-- arrival, it is read again from `resource` for that group only.
create table person_item_count (
  person_id         text        not null,
  resource_type     text        not null,
  feed_id           text,
  source_org        text,
  category          text,
  entered_in_error  boolean     not null,
  item_status       text,
  n                 integer     not null,
  received          timestamptz not null
);
-- One row per group. The nullable parts of the key are compared as one array, in which two nulls are equal
-- (a plain unique constraint would let two rows hold a group with no feed).
create unique index person_item_count_key on person_item_count
  (person_id, resource_type, (array[feed_id, source_org, category, item_status]), entered_in_error);

-- The cards' items: the most recent (or next) few of one type for one person straight from an index, in the
-- cards' order (date, newest first, then id), without reading the rest. It serves every (person_id,
-- resource_type) lookup the older index served, so that one is dropped (one index per write, not two).
create index resource_person_item_idx on resource
  (person_id, resource_type, (coalesce(item_date, '')) collate "C" desc, id) where not deleted;
drop index resource_person_idx;

insert into person_item_count
  (person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status, n, received)
select person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status,
       count(*)::int, max(coalesce(received_at, last_updated))
  from resource
 where person_id is not null and not deleted
 group by person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status;

-- Settles the groups `lost` names (groups that lost rows, with the latest arrival among the rows they lost):
-- refuses a count below zero (the counts would have drifted from the rows: the write fails rather than leave
-- them wrong), drops groups left empty, and reads the latest arrival again from `resource` where a row no
-- longer counted may have held it.
create function person_item_count_settle(lost jsonb) returns void language plpgsql as $$
begin
  if exists (select 1 from jsonb_to_recordset(lost) as d(person_id text, resource_type text, feed_id text, source_org text,
           category text, entered_in_error boolean, item_status text, removed timestamptz)
               left join person_item_count c on c.person_id = d.person_id and c.resource_type = d.resource_type and c.entered_in_error = d.entered_in_error
                 and array[c.feed_id, c.source_org, c.category, c.item_status] = array[d.feed_id, d.source_org, d.category, d.item_status]
              where c.n is null or c.n < 0) then
    raise exception 'person_item_count: a count below zero (the kept counts disagree with resource)';
  end if;
  delete from person_item_count c using jsonb_to_recordset(lost) as d(person_id text, resource_type text, feed_id text, source_org text,
           category text, entered_in_error boolean, item_status text, removed timestamptz)
   where c.n = 0 and c.person_id = d.person_id and c.resource_type = d.resource_type and c.entered_in_error = d.entered_in_error
     and array[c.feed_id, c.source_org, c.category, c.item_status] = array[d.feed_id, d.source_org, d.category, d.item_status];
  update person_item_count c
     set received = (select max(coalesce(r.received_at, r.last_updated)) from resource r
                      where r.person_id = c.person_id and r.resource_type = c.resource_type and not r.deleted
                        and r.entered_in_error = c.entered_in_error
                        and array[r.feed_id, r.source_org, r.category, r.item_status]
                          = array[c.feed_id, c.source_org, c.category, c.item_status])
    from jsonb_to_recordset(lost) as d(person_id text, resource_type text, feed_id text, source_org text,
           category text, entered_in_error boolean, item_status text, removed timestamptz)
   where c.received <= d.removed and c.person_id = d.person_id and c.resource_type = d.resource_type and c.entered_in_error = d.entered_in_error
     and array[c.feed_id, c.source_org, c.category, c.item_status] = array[d.feed_id, d.source_org, d.category, d.item_status];
end $$;

-- Each trigger adds its statement's rows per group in one upsert, groups in key order (concurrent writers of
-- one person lock the counter rows in the same order), then settles the groups that lost rows.
create function person_item_count_inserted() returns trigger language plpgsql as $$
begin
  insert into person_item_count as c
    (person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status, n, received)
  select person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status,
         count(*)::int, max(coalesce(received_at, last_updated))
    from added where person_id is not null and not deleted
   group by person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status
   order by person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status
  on conflict (person_id, resource_type, (array[feed_id, source_org, category, item_status]), entered_in_error)
  do update set n = c.n + excluded.n, received = greatest(c.received, excluded.received);
  return null;
end $$;

create function person_item_count_updated() returns trigger language plpgsql as $$
declare
  lost jsonb;
begin
  insert into person_item_count as c
    (person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status, n, received)
  select person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status,
         sum(n)::int, coalesce(max(added), max(removed))
    from (
      select person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status, 1 as n, coalesce(received_at, last_updated) as added, null::timestamptz as removed
        from added where person_id is not null and not deleted
      union all
      select person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status, -1, null, coalesce(received_at, last_updated)
        from removed where person_id is not null and not deleted
    ) x
   group by person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status
   order by person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status
  on conflict (person_id, resource_type, (array[feed_id, source_org, category, item_status]), entered_in_error)
  do update set n = c.n + excluded.n, received = greatest(c.received, excluded.received);
  -- Groups that lost rows and may need settling: a count at (or, had the counts drifted, below) zero, or a
  -- latest arrival that a row no longer counted may have held. An ordinary update (the row stays in its
  -- group, arriving later) needs none.
  select jsonb_agg(g) into lost from (
    select d.person_id, d.resource_type, d.feed_id, d.source_org, d.category, d.entered_in_error, d.item_status,
           max(coalesce(d.received_at, d.last_updated)) as removed
      from removed d
      left join person_item_count c on c.person_id = d.person_id and c.resource_type = d.resource_type and c.entered_in_error = d.entered_in_error
        and array[c.feed_id, c.source_org, c.category, c.item_status] = array[d.feed_id, d.source_org, d.category, d.item_status]
     where d.person_id is not null and not d.deleted
       and (c.n is null or c.n <= 0 or c.received <= coalesce(d.received_at, d.last_updated))
     group by d.person_id, d.resource_type, d.feed_id, d.source_org, d.category, d.entered_in_error, d.item_status) g;
  if lost is not null then
    perform person_item_count_settle(lost);
  end if;
  return null;
end $$;

create function person_item_count_deleted() returns trigger language plpgsql as $$
declare
  lost jsonb;
begin
  insert into person_item_count as c
    (person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status, n, received)
  select person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status,
         -count(*)::int, max(coalesce(received_at, last_updated))
    from removed where person_id is not null and not deleted
   group by person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status
   order by person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status
  on conflict (person_id, resource_type, (array[feed_id, source_org, category, item_status]), entered_in_error)
  do update set n = c.n + excluded.n, received = greatest(c.received, excluded.received);
  -- Groups that lost rows and may need settling: a count at (or, had the counts drifted, below) zero, or a
  -- latest arrival that a row no longer counted may have held. An ordinary update (the row stays in its
  -- group, arriving later) needs none.
  select jsonb_agg(g) into lost from (
    select d.person_id, d.resource_type, d.feed_id, d.source_org, d.category, d.entered_in_error, d.item_status,
           max(coalesce(d.received_at, d.last_updated)) as removed
      from removed d
      left join person_item_count c on c.person_id = d.person_id and c.resource_type = d.resource_type and c.entered_in_error = d.entered_in_error
        and array[c.feed_id, c.source_org, c.category, c.item_status] = array[d.feed_id, d.source_org, d.category, d.item_status]
     where d.person_id is not null and not d.deleted
       and (c.n is null or c.n <= 0 or c.received <= coalesce(d.received_at, d.last_updated))
     group by d.person_id, d.resource_type, d.feed_id, d.source_org, d.category, d.entered_in_error, d.item_status) g;
  if lost is not null then
    perform person_item_count_settle(lost);
  end if;
  return null;
end $$;

create function person_item_count_truncated() returns trigger language plpgsql as $$
begin
  truncate person_item_count;
  return null;
end $$;

create trigger person_item_count_insert after insert on resource
  referencing new table as added for each statement execute function person_item_count_inserted();
create trigger person_item_count_update after update on resource
  referencing old table as removed new table as added for each statement execute function person_item_count_updated();
create trigger person_item_count_delete after delete on resource
  referencing old table as removed for each statement execute function person_item_count_deleted();
create trigger person_item_count_truncate after truncate on resource
  for each statement execute function person_item_count_truncated();
