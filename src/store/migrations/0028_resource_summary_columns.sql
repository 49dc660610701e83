-- The viewer's summary filters and sorts on two plain columns written with the row (ADR 0052), instead of
-- parsing every candidate row's JSON on each request: the item's status (`status`, or the first code of
-- `clinicalStatus` for AllergyIntolerance and Condition) and the date the summary sorts it by. New writes
-- compute them in src/fhir/summary-facts.ts (summaryFactsOf); rows written before are backfilled here with
-- the same rules (a test checks the two agree). Only current rows need them: the summary reads `resource`.
alter table resource add column item_status text;
alter table resource add column item_date text;

update resource r set item_status = f.status, item_date = f.date
  from (
    select x.resource_type, x.id,
      case when x.resource_type in ('AllergyIntolerance', 'Condition') then
          (select c->>'code' from jsonb_array_elements(
              case when jsonb_typeof(d->'clinicalStatus'->'coding') = 'array' then d->'clinicalStatus'->'coding' else '[]'::jsonb end) c
            where jsonb_typeof(c->'code') = 'string' and c->>'code' <> '' limit 1)
        else nullif(case when jsonb_typeof(d->'status') = 'string' then d->>'status' end, '')
      end as status,
      case
        when x.resource_type = 'AllergyIntolerance' then coalesce(
          nullif(case when jsonb_typeof(d->'recordedDate') = 'string' then d->>'recordedDate' end, ''),
          nullif(case when jsonb_typeof(d->'onsetDateTime') = 'string' then d->>'onsetDateTime' end, ''))
        when x.resource_type = 'Condition' then coalesce(
          nullif(case when jsonb_typeof(d->'onsetDateTime') = 'string' then d->>'onsetDateTime' end, ''),
          nullif(case when jsonb_typeof(d->'onsetPeriod'->'start') = 'string' then d->'onsetPeriod'->>'start' end, ''),
          nullif(case when jsonb_typeof(d->'recordedDate') = 'string' then d->>'recordedDate' end, ''))
        when x.resource_type = 'Encounter' then
          nullif(case when jsonb_typeof(d->'period'->'start') = 'string' then d->'period'->>'start' end, '')
        when x.resource_type = 'Appointment' then
          nullif(case when jsonb_typeof(d->'start') = 'string' then d->>'start' end, '')
        when x.resource_type in ('MedicationRequest', 'MedicationStatement') then coalesce(
          nullif(case when jsonb_typeof(d->'authoredOn') = 'string' then d->>'authoredOn' end, ''),
          nullif(case when jsonb_typeof(d->'effectiveDateTime') = 'string' then d->>'effectiveDateTime' end, ''),
          nullif(case when jsonb_typeof(d->'effectivePeriod'->'start') = 'string' then d->'effectivePeriod'->>'start' end, ''),
          nullif(case when jsonb_typeof(d->'dateAsserted') = 'string' then d->>'dateAsserted' end, ''))
      end as date
    from (select resource_type, id, content::jsonb as d from resource
           where not deleted and content is not null
             and resource_type in ('AllergyIntolerance', 'MedicationRequest', 'MedicationStatement', 'Condition',
               'Encounter', 'Appointment', 'Flag', 'CareTeam', 'EpisodeOfCare')) x
  ) f
 where r.resource_type = f.resource_type and r.id = f.id;
