/**
 * Where each of a person's resources came from: its feed, the organisation that sent it and when it was
 * received (the columns every write records). For the viewer's attribution and per-source freshness; the
 * caller shows this only for resources the records service has already let the user see.
 */
import type { Db } from './db.ts';

export interface ResourceSource {
  resourceType: string;
  id: string;
  feedId: string | null;
  sourceOrg: string | null;
  /** When the data arrived (ISO), else when it was stored. */
  receivedAt: string;
}

/** The person (MPI key) whose Patient record is `patientId`, or null when there is no such Patient. */
export async function personOfPatient(db: Db, patientId: string): Promise<string | null> {
  const res = await db.query<{ person_id: string | null }>(
    `select person_id from resource where resource_type = 'Patient' and id = $1 and not deleted`,
    [patientId],
  );
  const row = res.rows[0];
  return row ? (row.person_id ?? patientId) : null;
}

/**
 * The person (MPI key) a live resource belongs to, or null when there is no such resource or it belongs to
 * no person. Used only to check that an item asked for under one person's page is that person's, before it
 * is read (access-checked and audited) through the records service.
 */
export async function personOfResource(db: Db, resourceType: string, id: string): Promise<string | null> {
  const res = await db.query<{ person_id: string | null }>(
    `select person_id from resource where resource_type = $1 and id = $2 and not deleted`,
    [resourceType, id],
  );
  return res.rows[0]?.person_id ?? null;
}

/** The sources of every live resource of the person whose Patient record is `patientId`: one indexed query. */
export async function personSources(db: Db, patientId: string): Promise<ResourceSource[]> {
  const res = await db.query<{
    resource_type: string;
    id: string;
    feed_id: string | null;
    source_org: string | null;
    received: string | Date;
  }>(
    `select r.resource_type, r.id, r.feed_id, r.source_org, coalesce(r.received_at, r.last_updated) as received
       from resource r
      where r.person_id = (select p.person_id from resource p where p.resource_type = 'Patient' and p.id = $1)
        and not r.deleted`,
    [patientId],
  );
  return res.rows.map((r) => ({
    resourceType: r.resource_type,
    id: r.id,
    feedId: r.feed_id,
    sourceOrg: r.source_org,
    receivedAt: r.received instanceof Date ? r.received.toISOString() : new Date(r.received).toISOString(),
  }));
}
