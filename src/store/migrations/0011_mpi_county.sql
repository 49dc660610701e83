-- The master patient index on county-shaped records (issue 13): each review says why it is a review
-- (the guards and safety rules that held the pair back, e.g. `verified-nhs-number-birth-date`), and a
-- review may be of two persons that one record matched both (`merge-persons`).
alter table mpi_review add column reasons text[] not null default '{}';
