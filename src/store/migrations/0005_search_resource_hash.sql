-- The search-index rows of one resource are found (to replace them on update, for _sort, _include and
-- :missing) by resource id equality only, so a hash index on resource_id replaces the b-tree on
-- (resource_type, resource_id): about a tenth less PostgreSQL CPU on a first import (ADR 0016), the same
-- plans, and the resource type is checked on the rows found.
drop index search_token_resource_idx;
create index search_token_resource_idx on search_token using hash (resource_id);
drop index search_string_resource_idx;
create index search_string_resource_idx on search_string using hash (resource_id);
drop index search_date_resource_idx;
create index search_date_resource_idx on search_date using hash (resource_id);
drop index search_reference_resource_idx;
create index search_reference_resource_idx on search_reference using hash (resource_id);
drop index search_quantity_resource_idx;
create index search_quantity_resource_idx on search_quantity using hash (resource_id);
drop index search_uri_resource_idx;
create index search_uri_resource_idx on search_uri using hash (resource_id);
drop index search_number_resource_idx;
create index search_number_resource_idx on search_number using hash (resource_id);
drop index search_composite_resource_idx;
create index search_composite_resource_idx on search_composite using hash (resource_id);
