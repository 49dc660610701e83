-- Sign-in and launch (issue 10, ADR 0023): the server's token signing keys, registered host systems,
-- launch token ids already used (single use), and browser sessions (ended on the server at logout).

-- The server's own signing keys. The newest unretired key signs; every key whose `verify_until` has not
-- passed is published in the JWKS and accepted for verification (rotation keeps the old key until the
-- tokens it signed have expired).
create table signing_key (
  kid           text        primary key,
  alg           text        not null check (alg in ('ES256', 'RS256')),
  public_jwk    text        not null,
  private_jwk   text        not null,
  created_at    timestamptz not null default now(),
  retired_at    timestamptz,
  verify_until  timestamptz
);

-- Host systems (EPRs, social care systems) that may launch the record in context with a signed token.
create table host_system (
  id            text        primary key,
  org           text        not null,
  -- A JWKS held here (from a file), or the URL the system publishes its JWKS at; exactly one.
  jwks          text,
  jwks_url      text,
  -- The origin that may embed the viewer (CSP frame-ancestors), when the system embeds it.
  frame_origin  text,
  created_at    timestamptz not null default now(),
  check ((jwks is null) <> (jwks_url is null))
);

-- A launch token's `jti` is remembered until the token expires: a second use is refused.
create table launch_jti (
  iss         text        not null,
  jti         text        not null,
  expires_at  timestamptz not null,
  primary key (iss, jti)
);
create index launch_jti_expires_idx on launch_jti (expires_at);

-- Browser sessions: the session id is the key; logout deletes the row, so the cookie is dead on the server.
create table web_session (
  id          text        primary key,
  data        text        not null,
  expires_at  timestamptz not null
);
create index web_session_expires_idx on web_session (expires_at);
