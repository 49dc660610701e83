/**
 * The viewer's use cases: one person's record as the viewer shows it, and the summary the summary card
 * endpoint returns. Access and audit come from the records service (`$everything`: one decision, one audit
 * entry); this adds where each item came from (store/resource-sources.ts), the feed registry's names and
 * statuses, and the access decision's grounds, so that an empty section can say why.
 */
import type { UserActor } from '../../shared/actor.ts';
import { personOfPatient, personSources } from '../../store/resource-sources.ts';
import type { FeedService } from '../feeds/feed-service.ts';
import type { RecordsService } from '../records-service.ts';
import { buildPatientView, type FeedInfo, type PatientView } from './patient-view.ts';

export interface ViewerRecordsDeps {
  records: RecordsService;
  feeds?: FeedService;
  now?: () => Date;
}

/** What the summary cards need, and nothing else. */
export type PatientSummary = Pick<
  PatientView,
  'banner' | 'access' | 'sources' | 'allergies' | 'problems' | 'alerts' | 'appointments' | 'careNetwork'
> & {
  medicines: PatientView['medicines'];
  encounters: PatientView['encounters'];
};

const BASE = 'urn:openicr:viewer';
const FEEDS_TTL_MS = 30_000;
const RECENT_ENCOUNTERS = 5;

export class ViewerRecords {
  readonly #deps: ViewerRecordsDeps;
  #feeds:
    { at: number; list: Promise<{ feeds: FeedInfo[]; orgs: Map<string, { name: string; kind: string }> }> } | undefined;

  constructor(deps: ViewerRecordsDeps) {
    this.#deps = deps;
  }

  /** The feed registry's feeds with their organisations (no patient data; cached for 30 s). */
  async #feedInfo(): Promise<{ feeds: FeedInfo[]; orgs: Map<string, { name: string; kind: string }> }> {
    const feeds = this.#deps.feeds;
    if (!feeds) return { feeds: [], orgs: new Map() };
    const now = Date.now();
    if (!this.#feeds || now - this.#feeds.at > FEEDS_TTL_MS) {
      const list = Promise.all([feeds.list(), feeds.organisations()]).then(([fs, orgs]) => {
        const byOds = new Map(orgs.map((o) => [o.ods, { name: o.name, kind: o.kind }]));
        return {
          orgs: byOds,
          feeds: fs.map((f) => ({
            id: f.id,
            orgOds: f.orgOds,
            orgName: byOds.get(f.orgOds)?.name ?? f.orgOds,
            orgKind: byOds.get(f.orgOds)?.kind ?? null,
            systemName: f.systemName,
            status: f.status,
          })),
        };
      });
      list.catch(() => {
        this.#feeds = undefined;
      });
      this.#feeds = { at: now, list };
    }
    return this.#feeds.list;
  }

  /**
   * The whole record as the viewer shows it (access decided and audited by the records service). The
   * provenance, the registry and the decision's grounds are read while `$everything` runs; `practitioners`
   * false leaves practitioners' names out (the summary cards show organisations only).
   */
  async view(actor: UserActor, patientId: string, opts: { practitioners?: boolean } = {}): Promise<PatientView> {
    const { records } = this.#deps;
    const everything = records.everything(actor, patientId, BASE);
    const context = Promise.all([
      personSources(records.db, patientId),
      this.#feedInfo(),
      personOfPatient(records.db, patientId).then((personId) =>
        records.decider.person(records.db, actor, personId ?? patientId),
      ),
    ]);
    // If $everything refuses, its error is the answer; the side reads' outcome is then irrelevant.
    context.catch(() => undefined);
    const bundle = JSON.parse(await everything) as {
      entry?: Array<{ resource: Record<string, unknown> & { resourceType: string; id: string } }>;
    };
    const resources = (bundle.entry ?? []).map((e) => e.resource).filter((r) => r.resourceType !== 'OperationOutcome');
    const [[sources, registry, decided], names] = await Promise.all([
      context,
      this.#names(actor, resources, opts.practitioners ?? true),
    ]);
    const d = decided.decision;
    return buildPatientView({
      patientId,
      resources,
      sources,
      feeds: registry.feeds,
      orgs: registry.orgs,
      names,
      access: {
        basis: d.basis,
        categories: d.categories,
        ownOrgOnly: d.ownOrgOnly,
        restricted: d.restricted,
        ...(d.reason ? { reason: d.reason } : {}),
      },
      now: (this.#deps.now ?? (() => new Date()))(),
    });
  }

  /** The summary: banner, access, sources, and the summary cards (current medicines, recent encounters…). */
  async summary(actor: UserActor, patientId: string): Promise<PatientSummary> {
    const v = await this.view(actor, patientId, { practitioners: false });
    const now = (this.#deps.now ?? (() => new Date()))().toISOString();
    return {
      banner: v.banner,
      access: v.access,
      sources: v.sources,
      allergies: v.allergies.filter((a) => a.status !== 'resolved' && a.status !== 'inactive'),
      medicines: v.medicines.filter((m) => m.active),
      problems: v.problems.filter((p) => p.status === undefined || p.status === 'active' || p.status === 'recurrence'),
      alerts: v.alerts,
      encounters: v.encounters.slice(0, RECENT_ENCOUNTERS),
      appointments: v.appointments.filter((a) => (a.date ?? '') >= now && a.status !== 'cancelled'),
      careNetwork: v.careNetwork,
    };
  }

  /** Names of the organisations and practitioners the record refers to: one search per type (audited). */
  async #names(
    actor: UserActor,
    resources: ReadonlyArray<Record<string, unknown>>,
    practitioners: boolean,
  ): Promise<Map<string, string>> {
    const refs = { Organization: new Set<string>(), Practitioner: new Set<string>() };
    const walk = (v: unknown, depth: number): void => {
      if (depth > 4 || v === null || typeof v !== 'object') return;
      if (Array.isArray(v)) {
        for (const x of v) walk(x, depth + 1);
        return;
      }
      const ref = (v as { reference?: unknown }).reference;
      if (typeof ref === 'string') {
        const m = /^(Organization|Practitioner)\/([A-Za-z0-9\-.]{1,64})$/.exec(ref);
        if (m?.[1] && m[2]) refs[m[1] as 'Organization' | 'Practitioner'].add(m[2]);
      }
      for (const x of Object.values(v)) walk(x, depth + 1);
    };
    for (const r of resources) walk(r, 0);
    const out = new Map<string, string>();
    await Promise.all(
      (practitioners ? (['Organization', 'Practitioner'] as const) : (['Organization'] as const)).map(async (type) => {
        const ids = [...refs[type]].slice(0, 100);
        if (ids.length === 0) return;
        let json: string;
        try {
          json = await this.#deps.records.search(
            actor,
            type,
            new URLSearchParams({ _id: ids.join(','), _count: '100' }),
            {
              baseUrl: BASE,
            },
          );
        } catch {
          return; // a role that does not see the care network: names stay unknown
        }
        const b = JSON.parse(json) as { entry?: Array<{ resource?: Record<string, unknown> }> };
        for (const e of b.entry ?? []) {
          const r = e.resource;
          if (!r || typeof r.id !== 'string') continue;
          const n =
            type === 'Organization' ? (typeof r.name === 'string' ? r.name : undefined) : practitionerName(r.name);
          if (n) out.set(`${type}/${r.id}`, n);
        }
      }),
    );
    return out;
  }
}

function practitionerName(v: unknown): string | undefined {
  const n = Array.isArray(v)
    ? (v[0] as { family?: unknown; given?: unknown; prefix?: unknown } | undefined)
    : undefined;
  if (!n) return undefined;
  const parts = [
    ...(Array.isArray(n.prefix) ? (n.prefix as unknown[]) : []),
    ...(Array.isArray(n.given) ? (n.given as unknown[]) : []),
    typeof n.family === 'string' ? n.family : '',
  ].filter((x): x is string => typeof x === 'string' && x !== '');
  return parts.length > 0 ? parts.join(' ') : undefined;
}
