/**
 * The demo's users and their relationships with demo people (docs/access.md, README): the demo users are
 * written to the database as ordinary configured users, and the demo data gives each organisation a
 * legitimate relationship with some people, so every demo user sees someone — and not everyone.
 *
 * - GP practice A81001 registers the first 20 people (by Patient id): an ongoing EpisodeOfCare it manages.
 * - The acute trust RNS has an appointment booked next week with every third of them.
 * - The council LA001 (social care) has a care team for every fourth of them.
 */
import { DEMO_USERS } from '../../auth/demo-users.ts';
import { ODS_SYSTEM } from '../../fhir/access-facts.ts';
import { SYSTEM_ACTOR } from '../../shared/actor.ts';
import type { RecordsService, SetItem } from '../records-service.ts';

export const DEMO_RELATIONSHIP_FEED = 'demo-relationships';

/** Writes the demo users (and their one profile each); idempotent. */
export async function ensureDemoUsers(records: RecordsService): Promise<void> {
  for (const u of DEMO_USERS) {
    await records.users.add(SYSTEM_ACTOR, { id: u.id, name: u.name, profiles: [{ org: u.org, role: u.role }] });
  }
}

const ORGS = [
  { id: 'demo-org-a81001', ods: 'A81001', name: 'Demo GP practice A81001' },
  { id: 'demo-org-rns', ods: 'RNS', name: 'Demo acute trust' },
  { id: 'demo-org-la001', ods: 'LA001', name: 'Demo council adult social care' },
] as const;

export interface DemoRelationships {
  registered: number;
  appointments: number;
  careTeams: number;
}

/** Relationships for the first `max` people among `patientIds` (sorted), dated from `now`. */
export async function loadDemoRelationships(
  records: RecordsService,
  patientIds: readonly string[],
  now: Date = new Date(),
  max = 20,
): Promise<DemoRelationships> {
  const ids = [...patientIds].sort().slice(0, max);
  const items: SetItem[] = ORGS.map((o) => ({
    resource: {
      resourceType: 'Organization',
      id: o.id,
      identifier: [{ system: ODS_SYSTEM, value: o.ods }],
      name: o.name,
    },
    provenance: { feedId: DEMO_RELATIONSHIP_FEED, sourceOrg: o.ods },
  }));
  const day = (n: number) => new Date(now.getTime() + n * 86_400_000).toISOString();
  let appointments = 0;
  let careTeams = 0;
  ids.forEach((pid, n) => {
    const patient = { reference: `Patient/${pid}` };
    items.push({
      resource: {
        resourceType: 'EpisodeOfCare',
        id: `demo-registration-${pid}`.slice(0, 64),
        status: 'active',
        patient,
        managingOrganization: { reference: 'Organization/demo-org-a81001' },
        period: { start: '2020-01-01' },
      },
      provenance: { feedId: DEMO_RELATIONSHIP_FEED, sourceOrg: 'A81001' },
    });
    if (n % 3 === 0) {
      appointments++;
      items.push({
        resource: {
          resourceType: 'Appointment',
          id: `demo-appointment-${pid}`.slice(0, 64),
          status: 'booked',
          start: day(7),
          end: day(7.02),
          // Booked by the trust: its contribution (provenance) is the relationship.
          participant: [{ actor: patient, status: 'accepted' }],
        },
        provenance: { feedId: DEMO_RELATIONSHIP_FEED, sourceOrg: 'RNS' },
      });
    }
    if (n % 4 === 0) {
      careTeams++;
      items.push({
        resource: {
          resourceType: 'CareTeam',
          id: `demo-careteam-${pid}`.slice(0, 64),
          status: 'active',
          subject: patient,
          managingOrganization: [{ reference: 'Organization/demo-org-la001' }],
        },
        provenance: { feedId: DEMO_RELATIONSHIP_FEED, sourceOrg: 'LA001' },
      });
    }
  });
  await records.putMany(SYSTEM_ACTOR, items);
  return { registered: ids.length, appointments, careTeams };
}
