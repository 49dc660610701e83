-- Index limits (issue 14, docs/limits.md). A b-tree index row holds at most 2704 bytes: a reference,
-- identifier, code or URL of a few thousand characters made every write of its resource fail.
--
-- 1. The search-index tables hold long free-text values in their index-key form (indexKey in
--    src/store/indexing/values.ts): up to 200 characters as they are; longer, the first 150 characters,
--    '#' and the hex SHA-256 of the whole value. Search compares query values in the same form. Rows
--    written before this migration are brought to that form here (normalised strings were already cut to
--    256 characters at extraction).
update search_token set code = left(code, 150) || '#' || encode(sha256(convert_to(code, 'UTF8')), 'hex')
  where length(code) > 200;
update search_token set system = left(system, 150) || '#' || encode(sha256(convert_to(system, 'UTF8')), 'hex')
  where length(system) > 200;
update search_reference set target_url = left(target_url, 150) || '#' || encode(sha256(convert_to(target_url, 'UTF8')), 'hex')
  where length(target_url) > 200;
update search_reference set identifier_system = left(identifier_system, 150) || '#' || encode(sha256(convert_to(identifier_system, 'UTF8')), 'hex')
  where length(identifier_system) > 200;
update search_reference set identifier_value = left(identifier_value, 150) || '#' || encode(sha256(convert_to(identifier_value, 'UTF8')), 'hex')
  where length(identifier_value) > 200;
update search_quantity set system = left(system, 150) || '#' || encode(sha256(convert_to(system, 'UTF8')), 'hex')
  where length(system) > 200;
update search_quantity set code = left(code, 150) || '#' || encode(sha256(convert_to(code, 'UTF8')), 'hex')
  where length(code) > 200;
update search_uri set value = left(value, 150) || '#' || encode(sha256(convert_to(value, 'UTF8')), 'hex')
  where length(value) > 200;
update search_composite set system = left(system, 150) || '#' || encode(sha256(convert_to(system, 'UTF8')), 'hex')
  where length(system) > 200;
update search_composite set code = left(code, 150) || '#' || encode(sha256(convert_to(code, 'UTF8')), 'hex')
  where length(code) > 200;
update search_composite set v_system = left(v_system, 150) || '#' || encode(sha256(convert_to(v_system, 'UTF8')), 'hex')
  where length(v_system) > 200;
update search_composite set v_code = left(v_code, 150) || '#' || encode(sha256(convert_to(v_code, 'UTF8')), 'hex')
  where length(v_code) > 200;

-- 2. The master patient index's source identifiers are read back whole ($ihe-pix), so they stay whole:
--    lookups use an index on a bounded prefix (left(…, 200), at most 800 bytes) and then compare the whole
--    values; uniqueness is kept on digests of the whole values (md5 is immutable, so it can be indexed).
alter table person_identifier drop constraint person_identifier_pkey;
create unique index person_identifier_key_idx on person_identifier (patient_id, md5(system), md5(value));
create index person_identifier_value_idx on person_identifier (left(value, 200), left(system, 200));
