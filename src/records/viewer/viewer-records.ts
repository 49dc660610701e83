/**
 * The viewer's use cases: one person's record as the viewer shows it, and the summary the summary card
 * endpoint returns. Access and audit come from the records service (`$everything`: one decision, one audit
 * entry); this adds where each item came from (store/resource-sources.ts), the feed registry's names and
 * statuses, and the access decision's grounds, so that an empty section can say why.
 */
import type { UserActor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import { personOfPatient, personOfResource, personSources } from '../../store/resource-sources.ts';
import type { FeedService } from '../feeds/feed-service.ts';
import type { RecordsService } from '../records-service.ts';
import type { SummarySection } from '../../store/person-summary.ts';
import { buildPatientView, type FeedInfo, type Item, type PatientView, sourcesOfCounts } from './patient-view.ts';

export interface ViewerRecordsDeps {
  records: RecordsService;
  feeds?: FeedService;
  now?: () => Date;
}

/** The summary's cards (each a list of the view's items). */
export type SummaryCard =
  'allergies' | 'medicines' | 'problems' | 'alerts' | 'encounters' | 'appointments' | 'careNetwork';
export const SUMMARY_CARDS: readonly SummaryCard[] = [
  'allergies',
  'medicines',
  'problems',
  'alerts',
  'encounters',
  'appointments',
  'careNetwork',
];

/** What the summary cards need, and nothing else. */
export type PatientSummary = Pick<
  PatientView,
  'banner' | 'access' | 'sources' | 'allergies' | 'problems' | 'alerts' | 'appointments' | 'careNetwork'
> & {
  medicines: PatientView['medicines'];
  encounters: PatientView['encounters'];
  /** Per card, how many more items the record holds than the card shows (0: the card shows them all). */
  more: Record<SummaryCard, number>;
};

/**
 * How many items each card shows (the most recent; appointments: the next), and the person's Patient records
 * read for the banner. Bounded so that the summary costs the same for a 1,000-item person as for a typical
 * one; "and M more" says what is left out, and the sections show everything.
 */
export const SUMMARY_LIMITS: Readonly<Record<SummarySection, number>> = {
  patients: 20,
  allergies: 50,
  medicines: 25,
  problems: 50,
  alerts: 20,
  encounters: 5,
  appointments: 10,
  careNetwork: 30,
};

const BASE = 'urn:openicr:viewer';
const BINARY_URL = /^Binary\/([A-Za-z0-9\-.]{1,64})$/;
const FEEDS_TTL_MS = 30_000;

/** Whether an item belongs on its summary card (the same rules the narrow read applies in SQL). */
const ON_CARD: Record<SummaryCard, (i: Item, nowIso: string) => boolean> = {
  allergies: (a) => a.status !== 'resolved' && a.status !== 'inactive',
  medicines: (m) => (m as PatientView['medicines'][number]).active,
  problems: (p) => p.status === undefined || p.status === 'active' || p.status === 'recurrence',
  alerts: () => true,
  encounters: () => true,
  appointments: (a, now) => (a.date ?? '') >= now && a.status !== 'cancelled',
  careNetwork: () => true,
};

/**
 * The summary from a view: each card's items, at most `limits[card]`, and how many more there are. `read`
 * gives, for a view built from the narrow read, each card's total and how many rows were read (the cards'
 * items are then already filtered and sorted in SQL; filtering again changes nothing). Without it, the
 * totals are those of the full view (the whole record: the same summary, the slow way).
 */
export function summaryOfView(
  v: PatientView,
  now: Date,
  limits: Readonly<Record<SummarySection, number>> = SUMMARY_LIMITS,
  read?: Partial<Record<SummaryCard, { total: number; read: number }>>,
): PatientSummary {
  const nowIso = now.toISOString();
  const more = {} as Record<SummaryCard, number>;
  const cards = {} as Record<SummaryCard, Item[]>;
  for (const card of SUMMARY_CARDS) {
    const all = (v[card] as Item[]).filter((i) => ON_CARD[card](i, nowIso));
    const shown = all.slice(0, limits[card]);
    const r = read?.[card];
    more[card] = r ? Math.max(0, r.total - r.read) : all.length - shown.length;
    cards[card] = shown;
  }
  return {
    banner: v.banner,
    access: v.access,
    sources: v.sources,
    allergies: cards.allergies,
    medicines: cards.medicines as PatientView['medicines'],
    problems: cards.problems,
    alerts: cards.alerts,
    encounters: cards.encounters,
    appointments: cards.appointments,
    careNetwork: cards.careNetwork,
    more,
  };
}

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
   * The whole record as the viewer shows it (access decided and audited by the records service, which also
   * gives the grounds of the decision it applied). The provenance and the registry are read while
   * `$everything` runs; `practitioners` false leaves practitioners' names out (the summary cards show
   * organisations only).
   */
  async view(actor: UserActor, patientId: string, opts: { practitioners?: boolean } = {}): Promise<PatientView> {
    const { records } = this.#deps;
    const record = records.personRecord(actor, patientId, BASE);
    const context = Promise.all([personSources(records.db, patientId), this.#feedInfo()]);
    // If $everything refuses, its error is the answer; the side reads' outcome is then irrelevant.
    context.catch(() => undefined);
    const { json, decision: d } = await record;
    const bundle = JSON.parse(json) as {
      entry?: Array<{ resource: Record<string, unknown> & { resourceType: string; id: string } }>;
    };
    const resources = (bundle.entry ?? []).map((e) => e.resource).filter((r) => r.resourceType !== 'OperationOutcome');
    const [[sources, registry], names] = await Promise.all([
      context,
      this.#names(actor, resources, opts.practitioners ?? true),
    ]);
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

  /**
   * The summary: banner, access, sources, and the summary cards — from the records service's narrow read
   * (ADR 0045: only the cards' sections, a few items each, sorted in SQL; one access decision, one audit
   * entry), not from the whole record.
   */
  async summary(actor: UserActor, patientId: string): Promise<PatientSummary> {
    const { records } = this.#deps;
    const now = (this.#deps.now ?? (() => new Date()))();
    const registry = this.#feedInfo();
    registry.catch(() => undefined);
    const read = await records.summary(actor, patientId, SUMMARY_LIMITS, now);
    const { feeds, orgs } = await registry;
    const names = new Map<string, string>();
    for (const o of read.organisations) {
      const name = (o as { name?: unknown }).name;
      if (typeof name === 'string' && name !== '') names.set(`Organization/${o.id}`, name);
    }
    const d = read.decision;
    const view = buildPatientView({
      patientId,
      resources: read.resources,
      sources: read.rows,
      feeds,
      orgs,
      names,
      access: {
        basis: d.basis,
        categories: d.categories,
        ownOrgOnly: d.ownOrgOnly,
        restricted: d.restricted,
        ...(d.reason ? { reason: d.reason } : {}),
      },
      now,
    });
    view.sources = sourcesOfCounts(read.sources, feeds, orgs);
    const counts: Partial<Record<SummaryCard, { total: number; read: number }>> = {};
    for (const card of SUMMARY_CARDS) {
      counts[card] = { total: read.totals[card] ?? 0, read: read.rows.filter((r) => r.section === card).length };
    }
    return summaryOfView(view, now, SUMMARY_LIMITS, counts);
  }

  /**
   * The PDF of a document shown on the page of the person whose Patient record is `patientId`: held in the
   * DocumentReference, or as a Binary it points to (each read access-checked and audited). A document of
   * another person answers as one that does not exist, before anything is read, so a page can never show
   * one person's letter under another's banner.
   */
  async documentPdf(actor: UserActor, patientId: string, documentId: string): Promise<Buffer> {
    const { records } = this.#deps;
    const [person, docPerson] = await Promise.all([
      personOfPatient(records.db, patientId),
      personOfResource(records.db, 'DocumentReference', documentId),
    ]);
    if (person === null || docPerson !== person) {
      throw new IcrError('ICR_NOT_FOUND', 'There is no such document in this record');
    }
    const stored = await records.read(actor, 'DocumentReference', documentId);
    const doc = JSON.parse(stored.json ?? '{}') as {
      content?: Array<{ attachment?: { contentType?: string; data?: string; url?: string } }>;
    };
    const att = doc.content
      ?.map((c) => c.attachment)
      .find((a) => a?.contentType === 'application/pdf' && (a.data || a.url));
    let data = att?.data;
    const binary = att && !data && att.url ? BINARY_URL.exec(att.url)?.[1] : undefined;
    if (binary) {
      const bin = JSON.parse((await records.read(actor, 'Binary', binary)).json ?? '{}') as {
        contentType?: string;
        data?: string;
      };
      if (bin.contentType === 'application/pdf') data = bin.data;
    }
    if (!data) throw new IcrError('ICR_NOT_FOUND', 'The document has no PDF content');
    return Buffer.from(data, 'base64');
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
