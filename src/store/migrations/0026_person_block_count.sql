-- How many source records hold each blocking key (issue 13, ADR 0050). A key held by more than the rules'
-- `maxBlockSize` records is too common to find candidates with; the write path used to count up to
-- maxBlockSize + 1 rows of `person_block` for every key of every incoming record (about 3 ms of database
-- CPU per record at 1,000,000 persons). The count is kept by statement-level triggers in the statement
-- that inserts or deletes the keys, whatever writes them (assignment, key refresh, merge, unlink, loads),
-- so it cannot drift from `person_block`.
create table person_block_count (
  key   text primary key,
  n     integer not null check (n >= 0)
);

insert into person_block_count (key, n)
select key, count(*)::int from person_block group by key;

create function person_block_count_added() returns trigger language plpgsql as $$
begin
  -- One row per key, in key order (concurrent writers take the count rows' locks in the same order).
  insert into person_block_count as c (key, n)
  select key, count(*)::int from added group by key order by key
  on conflict (key) do update set n = c.n + excluded.n;
  return null;
end $$;

create function person_block_count_removed() returns trigger language plpgsql as $$
begin
  perform 1 from person_block_count c where c.key in (select key from removed) order by c.key for update;
  update person_block_count c set n = c.n - d.n
    from (select key, count(*)::int as n from removed group by key) d
   where c.key = d.key;
  delete from person_block_count c where c.n = 0 and c.key in (select key from removed);
  return null;
end $$;

create function person_block_count_truncated() returns trigger language plpgsql as $$
begin
  truncate person_block_count;
  return null;
end $$;

create trigger person_block_count_insert after insert on person_block
  referencing new table as added for each statement execute function person_block_count_added();
create trigger person_block_count_delete after delete on person_block
  referencing old table as removed for each statement execute function person_block_count_removed();
create trigger person_block_count_truncate after truncate on person_block
  for each statement execute function person_block_count_truncated();
