-- Search index: one table per search-parameter type (see docs/adr/0011-search-index.md).
-- Rows are written in the same transaction as the resource they index, and replaced on every write.
-- `_id` and `_lastUpdated` are answered from `resource` itself and have no rows here.
-- Every row carries `person_id`, a copy of the resource's person key, so one person's index rows can be
-- found (and the tables distributed) by person.

-- token: Coding / CodeableConcept / Identifier / ContactPoint / code / boolean / string.
-- text_norm holds display and text, normalised like search_string.value_norm, for the :text modifier.
create table search_token (
  resource_type  text not null,
  resource_id    text not null,
  param          text not null,
  person_id      text,
  system         text,
  code           text,
  text_norm      text
);
create index search_token_code_idx on search_token (resource_type, param, code, system);
create index search_token_resource_idx on search_token (resource_type, resource_id);

-- string: each part of a HumanName / Address, or a plain string. value_norm is lower-cased with accents
-- stripped (default starts-with and :contains), value_exact is the text as written (:exact).
create table search_string (
  resource_type  text not null,
  resource_id    text not null,
  param          text not null,
  person_id      text,
  value_norm     text not null,
  value_exact    text not null
);
create index search_string_value_idx on search_string (resource_type, param, value_norm text_pattern_ops);
create index search_string_resource_idx on search_string (resource_type, resource_id);

-- date: the half-open range [low, high) the value denotes at its precision; open period ends are infinite.
create table search_date (
  resource_type  text        not null,
  resource_id    text        not null,
  param          text        not null,
  person_id      text,
  low            timestamptz not null,
  high           timestamptz not null
);
create index search_date_range_idx on search_date (resource_type, param, low, high);
create index search_date_resource_idx on search_date (resource_type, resource_id);

-- reference: local target (type, id), the URL when absolute / urn / canonical, and Reference.identifier.
create table search_reference (
  resource_type      text not null,
  resource_id        text not null,
  param              text not null,
  person_id          text,
  target_type        text,
  target_id          text,
  target_url         text,
  identifier_system  text,
  identifier_value   text
);
create index search_reference_target_idx on search_reference (target_id, target_type, resource_type, param);
create index search_reference_resource_idx on search_reference (resource_type, resource_id);
create index search_reference_identifier_idx on search_reference (identifier_value, identifier_system)
  where identifier_value is not null;
create index search_reference_url_idx on search_reference (target_url) where target_url is not null;

-- quantity: value, and [low, high) from the value's precision (or a Range's bounds); system / code / unit.
create table search_quantity (
  resource_type  text    not null,
  resource_id    text    not null,
  param          text    not null,
  person_id      text,
  value          numeric,
  low            numeric,
  high           numeric,
  system         text,
  code           text,
  unit           text
);
create index search_quantity_value_idx on search_quantity (resource_type, param, code, value);
create index search_quantity_resource_idx on search_quantity (resource_type, resource_id);

create table search_uri (
  resource_type  text not null,
  resource_id    text not null,
  param          text not null,
  person_id      text,
  value          text not null
);
create index search_uri_value_idx on search_uri (resource_type, param, value);
create index search_uri_resource_idx on search_uri (resource_type, resource_id);

create table search_number (
  resource_type  text    not null,
  resource_id    text    not null,
  param          text    not null,
  person_id      text,
  value          numeric not null,
  low            numeric not null,
  high           numeric not null
);
create index search_number_value_idx on search_number (resource_type, param, value);
create index search_number_resource_idx on search_number (resource_type, resource_id);

-- composite (token $ something): one row per pair, e.g. Observation code-value-quantity.
-- The second part uses the columns of its type: token (v_system, v_code), quantity (v_value, v_low, v_high,
-- v_system, v_code), date (v_date_low, v_date_high), string (v_text), reference (v_system = target type,
-- v_code = target id).
create table search_composite (
  resource_type  text not null,
  resource_id    text not null,
  param          text not null,
  person_id      text,
  system         text,
  code           text,
  v_system       text,
  v_code         text,
  v_value        numeric,
  v_low          numeric,
  v_high         numeric,
  v_date_low     timestamptz,
  v_date_high    timestamptz,
  v_text         text
);
create index search_composite_code_idx on search_composite (resource_type, param, code, system);
create index search_composite_resource_idx on search_composite (resource_type, resource_id);
