-- The `social-care` category (issue 9, docs/access.md): a resource of the types a social care record is
-- made of, marked as social care (a `meta.tag` or a `category` coding of
-- https://openicr.org/fhir/CodeSystem/record-category|social-care), is in `social-care` rather than its
-- type's category. New writes compute it in src/fhir/access-facts.ts (categoryOfResource); rows written
-- before this migration are re-categorised here by the same rule, current rows and versions alike.
update resource set category = 'social-care'
  where resource_type in ('EpisodeOfCare', 'Encounter', 'ServiceRequest', 'Observation', 'CarePlan', 'Goal',
                          'DocumentReference')
    and content is not null
    and (content::jsonb #> '{meta,tag}' @> '[{"system":"https://openicr.org/fhir/CodeSystem/record-category","code":"social-care"}]'
      or content::jsonb -> 'category' @> '[{"coding":[{"system":"https://openicr.org/fhir/CodeSystem/record-category","code":"social-care"}]}]');

update resource_version set category = 'social-care'
  where resource_type in ('EpisodeOfCare', 'Encounter', 'ServiceRequest', 'Observation', 'CarePlan', 'Goal',
                          'DocumentReference')
    and content is not null
    and (content::jsonb #> '{meta,tag}' @> '[{"system":"https://openicr.org/fhir/CodeSystem/record-category","code":"social-care"}]'
      or content::jsonb -> 'category' @> '[{"coding":[{"system":"https://openicr.org/fhir/CodeSystem/record-category","code":"social-care"}]}]');
