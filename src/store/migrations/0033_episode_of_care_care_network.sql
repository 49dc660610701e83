-- EpisodeOfCare moves from `encounters` to `care-network` (src/fhir/access-facts.ts): a registration with a
-- GP practice or being under a community or mental health service says who looks after the person, which
-- is what the care network shows — and what admin and clinical support (who see the care network but not
-- encounters) need to book and route. The viewer's care network card always listed episodes of care; until
-- now it hid them from those roles. Social-care-marked episodes stay `social-care` (migration 0013).
update resource set category = 'care-network'
  where resource_type = 'EpisodeOfCare' and category = 'encounters';
update resource_version set category = 'care-network'
  where resource_type = 'EpisodeOfCare' and category = 'encounters';
