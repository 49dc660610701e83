-- SMART App Launch 2 and SMART backend services (issue 10, ADR 0028): registered SMART apps, the launch
-- contexts, authorization codes and refresh tokens the authorization server hands out (kept as SHA-256
-- hashes: the database never holds a usable code or token), and used client assertion ids.

-- A registered SMART app: public (PKCE only) or confidential (private_key_jwt with the keys held here).
create table smart_app (
  client_id      text        primary key,
  name           text        not null,
  -- JSON array of the exact redirect URIs allowed.
  redirect_uris  text        not null,
  -- Where an EHR launch opens the app (`?iss=…&launch=…`); null: standalone launch only.
  launch_uri     text,
  -- JWKS of a confidential app's public keys; null: a public app.
  jwks           text,
  created_at     timestamptz not null default now()
);

-- The role a host system's SMART backend services client acts in (system/*.rs); null: not allowed.
alter table host_system add column backend_role text;

-- An EHR launch context: opaque and single use, binding the user (their role profile) and the person.
create table smart_launch (
  id_hash     text        primary key,
  client_id   text        not null,
  actor       text        not null,
  patient_id  text,
  expires_at  timestamptz not null,
  used_at     timestamptz
);

-- Authorization codes: single use; `family_id` ties the refresh tokens issued from one code.
create table smart_code (
  code_hash       text        primary key,
  family_id       text        not null,
  client_id       text        not null,
  redirect_uri    text        not null,
  code_challenge  text        not null,
  scope           text        not null,
  actor           text        not null,
  patient_id      text,
  person_id       text,
  nonce           text,
  expires_at      timestamptz not null,
  used_at         timestamptz
);

-- Refresh tokens with rotation: each use retires the token (used_at) and issues the next in its family;
-- a retired token presented again revokes the whole family.
create table smart_refresh (
  token_hash  text        primary key,
  family_id   text        not null,
  client_id   text        not null,
  scope       text        not null,
  actor       text        not null,
  patient_id  text,
  person_id   text,
  expires_at  timestamptz not null,
  used_at     timestamptz,
  revoked_at  timestamptz
);
create index smart_refresh_family_idx on smart_refresh (family_id);

-- Client assertion ids already used (backend services, confidential apps): remembered until they expire.
create table client_assertion_jti (
  client_id   text        not null,
  jti         text        not null,
  expires_at  timestamptz not null,
  primary key (client_id, jti)
);
create index client_assertion_jti_expires_idx on client_assertion_jti (expires_at);
