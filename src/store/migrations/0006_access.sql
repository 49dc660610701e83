-- Access decisions (DESIGN.md §6, docs/access.md, ADR 0017): configured users and their role profiles,
-- per-row columns the read paths filter on in SQL, the organisations each care event names (from which
-- a legitimate relationship is derived), and declared / emergency access grants with their review.

-- Users and the (organisation, role) profiles they may act in.
create table icr_user (
  id          text        primary key,
  name        text        not null,
  disabled    boolean     not null default false,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table icr_user_profile (
  user_id     text        not null references icr_user (id),
  org         text        not null,
  role        text        not null,
  created_at  timestamptz not null default now(),
  primary key (user_id, org, role)
);

-- Row-level columns, filled at write time (src/fhir/access-facts.ts), so access filters are plain SQL:
-- the category (role → categories matrix), entered-in-error items (hidden), and restricted Patients (PDS R).
alter table resource add column category text;
alter table resource add column entered_in_error boolean not null default false;
alter table resource add column restricted boolean not null default false;
alter table resource_version add column category text;
alter table resource_version add column entered_in_error boolean not null default false;

-- Rows written before this migration: the same rules as src/fhir/access-facts.ts, in SQL.
update resource set category = case resource_type
    when 'Patient' then 'demographics' when 'Consent' then 'demographics'
    when 'Practitioner' then 'care-network' when 'PractitionerRole' then 'care-network'
    when 'Organization' then 'care-network' when 'Location' then 'care-network'
    when 'CareTeam' then 'care-network' when 'RelatedPerson' then 'care-network'
    when 'Encounter' then 'encounters' when 'EpisodeOfCare' then 'encounters'
    when 'Appointment' then 'appointments' when 'ServiceRequest' then 'referrals' when 'Flag' then 'alerts'
    when 'AllergyIntolerance' then 'allergies'
    when 'Medication' then 'medications' when 'MedicationRequest' then 'medications'
    when 'MedicationStatement' then 'medications' when 'MedicationDispense' then 'medications'
    when 'Condition' then 'problems' when 'Procedure' then 'procedures'
    when 'Observation' then 'results' when 'DiagnosticReport' then 'results'
    when 'Immunization' then 'immunisations'
    when 'DocumentReference' then 'documents' when 'Binary' then 'documents' when 'Provenance' then 'documents'
    when 'CarePlan' then 'care-plans' when 'Goal' then 'care-plans'
    when 'AuditEvent' then 'audit'
    else 'documents' end;
update resource_version v set category = r.category from resource r
  where r.resource_type = v.resource_type and r.id = v.id;
update resource set entered_in_error = true
  where content is not null and (content::jsonb ->> 'status' = 'entered-in-error'
    or content::jsonb #>> '{verificationStatus,coding,0,code}' = 'entered-in-error');
update resource set restricted = true
  where resource_type = 'Patient' and content is not null
    and content::jsonb #> '{meta,security}' @> '[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]';

create index resource_person_restricted_idx on resource (person_id) where restricted and not deleted;

-- The organisations a care event names (serviceProvider, managingOrganization, performer, requester,
-- participant, generalPractitioner, CareTeam member) or that contributed it (its source_org), as keys
-- `ods:<ODS code>` or `Organization/<id>`, and until when it counts (null: while the resource stands).
-- Keyed by resource, not by person: the MPI moves resources between persons and these rows follow.
create table care_link (
  resource_type  text        not null,
  resource_id    text        not null,
  org_key        text        not null,
  until          timestamptz,
  primary key (resource_type, resource_id, org_key)
);

create index care_link_resource_idx on care_link using hash (resource_id);

-- Declared relationships and emergency (break-glass) access: one user, one source Patient (and so its
-- person, wherever the MPI moves it), until `expires_at`. Every grant goes to the privacy officers' review.
create table access_grant (
  id            text        primary key,
  user_id       text        not null,
  org           text        not null,
  role          text        not null,
  patient_id    text        not null,
  kind          text        not null check (kind in ('declared', 'emergency')),
  reason        text        not null,
  text          text,
  created_at    timestamptz not null default now(),
  expires_at    timestamptz not null,
  reviewed_by   text,
  reviewed_at   timestamptz,
  review_note   text
);

create index access_grant_user_idx on access_grant (user_id, patient_id, expires_at);
create index access_grant_review_idx on access_grant (created_at) where reviewed_at is null;
