-- Versioned FHIR resources. `resource` holds the current version of each resource (or its tombstone);
-- `resource_version` holds every version, the current one included, for vread and history.
-- Every clinical row carries `person_id` (the MPI person key; until a source patient is linked it is the
-- id of the Patient the resource belongs to) so that one person's data is one indexed range scan.

create table resource (
  resource_type  text        not null,
  id             text        not null,
  version_id     integer     not null,
  last_updated   timestamptz not null,
  deleted        boolean     not null default false,
  -- The resource as JSON text, exactly as served (meta included); null for a tombstone.
  content        text,
  -- sha-256 of the content without meta.versionId/lastUpdated: an identical re-send is not a new version.
  content_hash   text,
  -- The Patient this resource is about (compartment), and the person that patient is linked to.
  patient_id     text,
  person_id      text,
  -- Provenance: which feed, which organisation (ODS code), the source system's own identifier, when.
  feed_id        text,
  source_org     text,
  source_id      text,
  received_at    timestamptz,
  primary key (resource_type, id)
);

create index resource_person_idx on resource (person_id, resource_type) where not deleted;
create index resource_patient_idx on resource (patient_id) where patient_id is not null;
create index resource_type_updated_idx on resource (resource_type, last_updated);
create index resource_feed_idx on resource (feed_id, resource_type);

create table resource_version (
  resource_type  text        not null,
  id             text        not null,
  version_id     integer     not null,
  last_updated   timestamptz not null,
  deleted        boolean     not null default false,
  content        text,
  patient_id     text,
  person_id      text,
  feed_id        text,
  source_org     text,
  source_id      text,
  received_at    timestamptz,
  primary key (resource_type, id, version_id)
);

create index resource_version_type_idx on resource_version (resource_type, last_updated);
create index resource_version_updated_idx on resource_version (last_updated);
create index resource_version_person_idx on resource_version (person_id, last_updated);
