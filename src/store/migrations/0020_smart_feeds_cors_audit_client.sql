-- SMART backend services for FHIR feeds, CORS for browser SMART apps, and the client in the audit trail
-- (issue 10, ADR 0044).

-- The FHIR feed a host system sends as (`icr systems add … --feed <id>`): its backend services tokens with
-- `system/*.cu` write as that feed. Null: the system sends no feed.
alter table host_system add column feed_id text references feed (id);

-- The browser origins a SMART app runs in (JSON array of origins): `/fhir`, the token endpoint and the
-- SMART configuration answer CORS requests from these origins only. Null: none.
alter table smart_app add column allowed_origins text;

-- The SMART app or backend services client (its client_id) an entry was made under, when one was.
-- The entry's content hash covers it when it is set (src/audit/audit-chain.ts).
alter table audit_entry add column client_id text;
