/**
 * The viewer's model of one person's record, built from what the records service let the user see (the
 * `$everything` entries) and where each item came from (feed, organisation, when received). Pure: no I/O.
 * Every item keeps its source key, so the page can say "Kettering General Hospital · updated 10:32".
 */

export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}
export interface CodeableConcept {
  coding?: Coding[];
  text?: string;
}
type Res = Record<string, unknown> & { resourceType: string; id: string };

/** One source of data (a feed of an organisation), with how fresh it is for this person. */
export interface SourceInfo {
  key: string;
  feedId: string | null;
  orgOds: string | null;
  orgName: string;
  system: string | null;
  /** The latest arrival from this source for this person (ISO). */
  updatedAt: string;
  /** The feed's status ('testing' | 'live' | 'suspended'), when known. */
  status: string | null;
  orgKind: string | null;
  items: number;
}

export interface SourceRow {
  resourceType: string;
  id: string;
  feedId: string | null;
  sourceOrg: string | null;
  receivedAt: string;
}

export interface FeedInfo {
  id: string;
  orgOds: string;
  orgName: string;
  orgKind: string | null;
  systemName: string | null;
  status: string;
}

export interface Item {
  type: string;
  id: string;
  /** SourceInfo.key */
  source: string;
  text: string;
  date?: string;
  detail?: string;
  status?: string;
}

export interface MedicineItem extends Item {
  dose?: string;
  /** Normalised medicine name (grouping key when no dm+d code). */
  code?: string;
  active: boolean;
}

export interface ResultItem extends Item {
  code: string;
  value?: number;
  unit?: string;
  valueText?: string;
  low?: number;
  high?: number;
  /** H, L, HH, LL, A, N… from Observation.interpretation, else derived from the range. */
  flag?: string;
  category?: string;
}

export interface DocumentItem extends Item {
  contentType?: string;
  /** Inline text content (text/plain attachments). */
  body?: string;
  /** Whether a PDF is attached (served by the document route). */
  hasPdf?: boolean;
}

export interface Banner {
  patientId: string;
  family: string;
  given: string[];
  prefix: string[];
  birthDate?: string;
  deceased?: string | boolean;
  gender?: string;
  nhsNumber?: string;
  /** Undefined: none recorded; null: withheld (restricted record). */
  address?: string | null;
  phone?: string | null;
  flags: Array<{ text: string; safeguarding: boolean; source: string }>;
  /** Where the person's linked records disagree about identity. */
  identityConflicts: string[];
}

export interface AccessInfo {
  basis: string;
  categories: readonly string[];
  ownOrgOnly: boolean;
  restricted: boolean;
  reason?: string;
}

export interface PatientView {
  banner: Banner;
  access: AccessInfo;
  sources: SourceInfo[];
  allergies: Item[];
  medicines: MedicineItem[];
  problems: Item[];
  alerts: Item[];
  encounters: Item[];
  appointments: Item[];
  careNetwork: Item[];
  results: ResultItem[];
  documents: DocumentItem[];
  referrals: Item[];
  carePlans: Item[];
  socialCare: Item[];
  immunisations: Item[];
}

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

export function conceptText(c: unknown): string | undefined {
  const cc = c as CodeableConcept | undefined;
  if (!cc || typeof cc !== 'object') return undefined;
  if (typeof cc.text === 'string' && cc.text !== '') return cc.text;
  const d = cc.coding?.find((x) => typeof x.display === 'string' && x.display !== '');
  return d?.display ?? cc.coding?.find((x) => x.code)?.code;
}

function firstCode(c: unknown): string | undefined {
  const cc = c as CodeableConcept | undefined;
  const coding = cc?.coding?.find((x) => x.code);
  return coding?.code ? `${coding.system ?? ''}|${coding.code}` : undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const arr = <T = Record<string, unknown>>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

function periodStart(p: unknown): string | undefined {
  return str(obj(p).start);
}

function codingCode(c: unknown): string | undefined {
  return arr<Coding>(obj(c).coding).find((x) => x.code)?.code;
}

/** Normalised medicine name: the words before the first number ("Amlodipine 5mg tablets" → "amlodipine"). */
export function medicineKey(name: string): string {
  const words = name
    .toLowerCase()
    .replace(/[()[\],]/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
  const out: string[] = [];
  for (const w of words) {
    if (/^\d/.test(w)) break;
    out.push(w);
  }
  return (out.length > 0 ? out : words.slice(0, 1)).join(' ');
}

const ACTIVE_MED = new Set(['active', 'on-hold', 'intended']);
const SAFEGUARDING = /safeguard|child protection|adult at risk|risk to others/i;

export interface BuildInput {
  patientId: string;
  resources: Res[];
  sources: SourceRow[];
  feeds: FeedInfo[];
  access: AccessInfo;
  /** The registry's organisations by ODS code (names of sources without a registered feed). */
  orgs?: ReadonlyMap<string, { name: string; kind: string }>;
  /** Organisation and practitioner names by reference ("Organization/x" → name). */
  names: Map<string, string>;
  now: Date;
}

function sourceKey(row: Pick<SourceRow, 'feedId' | 'sourceOrg'> | undefined): string {
  if (!row) return 'unknown';
  return `${row.feedId ?? '-'}|${row.sourceOrg ?? '-'}`;
}

/** One source's attribution: its organisation, system and feed status (from the registry) and freshness. */
function sourceInfoOf(
  row: Pick<SourceRow, 'feedId' | 'sourceOrg' | 'receivedAt'> | undefined,
  items: number,
  feeds: ReadonlyMap<string, FeedInfo>,
  orgs: ReadonlyMap<string, { name: string; kind: string }> | undefined,
): SourceInfo {
  const feed = row?.feedId ? feeds.get(row.feedId) : undefined;
  // A row's organisation is its source_org when the registry knows it, else its feed's organisation.
  const known = row?.sourceOrg ? orgs?.has(row.sourceOrg) === true : false;
  const ods = known ? (row?.sourceOrg ?? null) : (feed?.orgOds ?? row?.sourceOrg ?? null);
  const org = ods ? orgs?.get(ods) : undefined;
  const sameOrg = feed !== undefined && feed.orgOds === ods;
  return {
    key: sourceKey(row),
    feedId: row?.feedId ?? null,
    orgOds: ods,
    orgName: org?.name ?? (sameOrg ? feed.orgName : undefined) ?? ods ?? 'Entered directly in the shared record',
    system: sameOrg ? (feed.systemName ?? feed.id) : (row?.feedId ?? null),
    updatedAt: row?.receivedAt ?? '',
    status: sameOrg ? feed.status : null,
    orgKind: org?.kind ?? (sameOrg ? feed.orgKind : null),
    items,
  };
}

/** Newest first; sources updated at the same moment in the order of their keys. */
function bySourceFreshness(a: SourceInfo, b: SourceInfo): number {
  return b.updatedAt.localeCompare(a.updatedAt) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * The sources of a person's record from per-source counts (every item the user may see, counted in SQL:
 * the summary reads only a few items, yet says how many each source holds and how fresh it is).
 */
export function sourcesOfCounts(
  counts: ReadonlyArray<{ feedId: string | null; sourceOrg: string | null; updatedAt: string; items: number }>,
  feeds: readonly FeedInfo[],
  orgs?: ReadonlyMap<string, { name: string; kind: string }>,
): SourceInfo[] {
  const byId = new Map(feeds.map((f) => [f.id, f]));
  return counts
    .map((c) =>
      sourceInfoOf({ feedId: c.feedId, sourceOrg: c.sourceOrg, receivedAt: c.updatedAt }, c.items, byId, orgs),
    )
    .sort(bySourceFreshness);
}

export function buildPatientView(input: BuildInput): PatientView {
  const byId = new Map<string, SourceRow>();
  for (const s of input.sources) byId.set(`${s.resourceType}/${s.id}`, s);
  const feeds = new Map(input.feeds.map((f) => [f.id, f]));
  const sources = new Map<string, SourceInfo>();
  const src = (r: Res): string => {
    const row = byId.get(`${r.resourceType}/${r.id}`);
    const key = sourceKey(row);
    const info = sources.get(key);
    if (info) {
      info.items += 1;
      if (row && row.receivedAt > info.updatedAt) info.updatedAt = row.receivedAt;
      return key;
    }
    sources.set(key, sourceInfoOf(row, 1, feeds, input.orgs));
    return key;
  };
  const name = (ref: unknown): string | undefined => {
    const r = str(obj(ref).reference);
    return str(obj(ref).display) ?? (r ? input.names.get(r) : undefined);
  };

  const view: PatientView = {
    banner: { patientId: input.patientId, family: '', given: [], prefix: [], flags: [], identityConflicts: [] },
    access: input.access,
    sources: [],
    allergies: [],
    medicines: [],
    problems: [],
    alerts: [],
    encounters: [],
    appointments: [],
    careNetwork: [],
    results: [],
    documents: [],
    referrals: [],
    carePlans: [],
    socialCare: [],
    immunisations: [],
  };
  const patients: Res[] = [];
  for (const r of input.resources) {
    const source = src(r);
    const base = { type: r.resourceType, id: r.id, source };
    switch (r.resourceType) {
      case 'Patient':
        patients.push(r);
        break;
      case 'AllergyIntolerance': {
        const reactions = arr(r.reaction)
          .flatMap((x) => arr(x.manifestation).map((m) => conceptText(m)))
          .filter((x): x is string => x !== undefined);
        const detail = [str(r.criticality) ? `criticality ${String(r.criticality)}` : undefined, ...reactions]
          .filter(Boolean)
          .join(' · ');
        view.allergies.push({
          ...base,
          text: conceptText(r.code) ?? 'Allergy (no description)',
          ...opt('date', str(r.recordedDate) ?? str(r.onsetDateTime)),
          ...opt('detail', detail || undefined),
          ...opt('status', codingCode(r.clinicalStatus)),
        });
        break;
      }
      case 'MedicationRequest':
      case 'MedicationStatement': {
        const medName =
          conceptText(r.medicationCodeableConcept) ?? name(r.medicationReference) ?? 'Medicine (no description)';
        const dosage = arr(r.dosageInstruction).length > 0 ? arr(r.dosageInstruction) : arr(r.dosage);
        const dose =
          dosage
            .map((d) => str(d.text))
            .filter(Boolean)
            .join('; ') || undefined;
        const status = str(r.status) ?? 'unknown';
        const date =
          str(r.authoredOn) ?? str(r.effectiveDateTime) ?? periodStart(r.effectivePeriod) ?? str(r.dateAsserted);
        view.medicines.push({
          ...base,
          text: medName,
          ...opt('dose', dose),
          ...opt('date', date),
          status,
          code: firstCode(r.medicationCodeableConcept) ?? medicineKey(medName),
          active: ACTIVE_MED.has(status),
        });
        break;
      }
      case 'Condition': {
        const status = codingCode(r.clinicalStatus);
        view.problems.push({
          ...base,
          text: conceptText(r.code) ?? 'Problem (no description)',
          ...opt('date', str(r.onsetDateTime) ?? periodStart(r.onsetPeriod) ?? str(r.recordedDate)),
          ...opt('status', status),
        });
        break;
      }
      case 'Flag': {
        if (str(r.status) !== 'active') break;
        const text = conceptText(r.code) ?? 'Alert';
        const category = arr(r.category)
          .map((c) => conceptText(c) ?? '')
          .join(' ');
        const safeguarding = SAFEGUARDING.test(`${text} ${category}`);
        view.alerts.push({
          ...base,
          text,
          ...opt('detail', category || undefined),
          ...opt('date', periodStart(r.period)),
        });
        view.banner.flags.push({ text, safeguarding, source });
        break;
      }
      case 'Encounter': {
        const type =
          arr(r.type)
            .map((t) => conceptText(t))
            .find(Boolean) ??
          codingCodeOf(r.class) ??
          'Encounter';
        view.encounters.push({
          ...base,
          text: type,
          ...opt('date', periodStart(r.period)),
          ...opt('detail', name(r.serviceProvider) ?? encounterClass(r.class)),
          ...opt('status', str(r.status)),
        });
        break;
      }
      case 'Appointment': {
        const text =
          str(r.description) ??
          arr(r.serviceType)
            .map((t) => conceptText(t))
            .find(Boolean) ??
          arr(r.appointmentType ? [r.appointmentType] : [])
            .map((t) => conceptText(t))
            .find(Boolean) ??
          'Appointment';
        const where = arr(r.participant)
          .map((p) => name(p.actor))
          .filter((n): n is string => n !== undefined && !n.startsWith('Patient'))
          .join(', ');
        view.appointments.push({
          ...base,
          text,
          ...opt('date', str(r.start)),
          ...opt('detail', where || undefined),
          ...opt('status', str(r.status)),
        });
        break;
      }
      case 'CareTeam':
      case 'EpisodeOfCare': {
        const orgs = [
          ...arr(r.managingOrganization),
          ...(r.managingOrganization && !Array.isArray(r.managingOrganization) ? [r.managingOrganization] : []),
        ]
          .map((o) => name(o))
          .filter(Boolean);
        const people = arr(r.participant)
          .map((p) => {
            const who = name(p.member);
            const role = arr(p.role)
              .map((x) => conceptText(x))
              .find(Boolean);
            return who ? (role ? `${who} (${role})` : who) : undefined;
          })
          .filter(Boolean);
        const team = str(r.name) ?? (r.resourceType === 'EpisodeOfCare' ? 'Registered with' : 'Care team');
        const active = str(r.status) === 'active';
        if (!active) break;
        view.careNetwork.push({
          ...base,
          text: team,
          ...opt('detail', [...orgs, ...people].join(' · ') || undefined),
          ...opt('date', periodStart(r.period)),
          ...opt('status', str(r.status)),
        });
        break;
      }
      case 'Observation': {
        const q = obj(r.valueQuantity);
        const range = obj(arr(r.referenceRange)[0]);
        const low = num(obj(range.low).value);
        const high = num(obj(range.high).value);
        const value = num(q.value);
        const interp = arr(r.interpretation)
          .map((i) => codingCode(i))
          .find(Boolean);
        const derived =
          value === undefined
            ? undefined
            : high !== undefined && value > high
              ? 'H'
              : low !== undefined && value < low
                ? 'L'
                : undefined;
        const category = arr(r.category)
          .map((c) => codingCode(c))
          .find(Boolean);
        view.results.push({
          ...base,
          text: conceptText(r.code) ?? 'Result',
          code: firstCode(r.code) ?? (conceptText(r.code) ?? 'result').toLowerCase(),
          ...opt('date', str(r.effectiveDateTime) ?? periodStart(r.effectivePeriod) ?? str(r.issued)),
          ...opt('value', value),
          ...opt('unit', str(q.unit) ?? str(q.code)),
          ...opt(
            'valueText',
            value === undefined ? (str(r.valueString) ?? conceptText(r.valueCodeableConcept)) : undefined,
          ),
          ...opt('low', low),
          ...opt('high', high),
          ...opt('flag', interp && interp !== 'N' ? interp : derived),
          ...opt('category', category),
          ...opt('status', str(r.status)),
        });
        break;
      }
      case 'DocumentReference': {
        const att = arr(r.content).map((c) => obj(c.attachment));
        const text = att.find((a) => str(a.contentType)?.startsWith('text/plain') && str(a.data));
        const pdf = att.find((a) => str(a.contentType) === 'application/pdf');
        view.documents.push({
          ...base,
          text: str(r.description) ?? conceptText(r.type) ?? str(att[0]?.title) ?? 'Document',
          ...opt('date', str(r.date) ?? periodStart(obj(r.context).period)),
          ...opt('detail', conceptText(r.type)),
          ...opt('status', str(r.status)),
          ...opt('contentType', str(text?.contentType) ?? str(pdf?.contentType)),
          ...opt('body', text ? Buffer.from(String(text.data), 'base64').toString('utf8') : undefined),
          ...(pdf ? { hasPdf: true } : {}),
        });
        break;
      }
      case 'DiagnosticReport': {
        const conclusion = str(r.conclusion);
        view.documents.push({
          ...base,
          text: conceptText(r.code) ?? 'Report',
          ...opt('date', str(r.effectiveDateTime) ?? str(r.issued)),
          ...opt('detail', 'Report'),
          ...opt('status', str(r.status)),
          ...opt('body', conclusion),
        });
        break;
      }
      case 'ServiceRequest':
        view.referrals.push({
          ...base,
          text: conceptText(r.code) ?? 'Referral',
          ...opt('date', str(r.authoredOn)),
          ...opt('detail', [name(r.requester), name(arr(r.performer)[0])].filter(Boolean).join(' → ') || undefined),
          ...opt('status', str(r.status)),
        });
        break;
      case 'CarePlan':
        view.carePlans.push({
          ...base,
          text:
            str(r.title) ??
            str(r.description) ??
            arr(r.category)
              .map((c) => conceptText(c))
              .find(Boolean) ??
            'Care plan',
          ...opt('date', periodStart(r.period) ?? str(r.created)),
          ...opt('detail', str(r.description)),
          ...opt('status', str(r.status)),
        });
        break;
      case 'Immunization':
        view.immunisations.push({
          ...base,
          text: conceptText(r.vaccineCode) ?? 'Immunisation',
          ...opt('date', str(r.occurrenceDateTime)),
          ...opt('status', str(r.status)),
        });
        break;
      default:
        break;
    }
  }

  view.banner = { ...bannerOf(input.patientId, patients, input.access.restricted, byId), flags: view.banner.flags };
  // The same fact from the same source about several linked records of the person is shown once.
  const seen = new Set<string>();
  view.careNetwork = view.careNetwork.filter((i) => {
    const k = `${i.text}|${i.detail ?? ''}|${i.source}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  view.sources = [...sources.values()].sort(bySourceFreshness);
  const social = new Set(view.sources.filter((s) => s.orgKind === 'social-care').map((s) => s.key));
  for (const list of [view.carePlans, view.careNetwork, view.alerts, view.encounters, view.referrals]) {
    for (const i of list) if (social.has(i.source)) view.socialCare.push(i);
  }
  const desc = (a: { date?: string }, b: { date?: string }) => (b.date ?? '').localeCompare(a.date ?? '');
  for (const list of [
    view.allergies,
    view.medicines,
    view.problems,
    view.encounters,
    view.results,
    view.documents,
    view.referrals,
    view.carePlans,
    view.socialCare,
    view.immunisations,
  ])
    (list as Array<{ date?: string }>).sort(desc);
  view.appointments.sort((a, b) => (a.date ?? '').localeCompare(b.date ?? ''));
  return view;
}

function codingCodeOf(c: unknown): string | undefined {
  return str(obj(c).code);
}

const ENCOUNTER_CLASS: Record<string, string> = {
  AMB: 'Outpatient or clinic',
  EMER: 'Emergency department',
  IMP: 'Inpatient admission',
  HH: 'Home visit',
  VR: 'Virtual consultation',
  FLD: 'Field (ambulance)',
};

function encounterClass(c: unknown): string | undefined {
  const code = str(obj(c).code);
  return code ? (ENCOUNTER_CLASS[code] ?? code) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function formatAddress(a: unknown): string | undefined {
  const o = obj(a);
  const parts = [...arr<string>(o.line), str(o.city), str(o.district), str(o.postalCode)].filter(
    (x): x is string => typeof x === 'string' && x !== '',
  );
  return parts.length > 0 ? parts.join(', ') : str(o.text);
}

/** The banner: from the Patient record with an NHS number (else the first), and the identity conflicts. */
function bannerOf(
  patientId: string,
  patients: Res[],
  restricted: boolean,
  sources: Map<string, SourceRow>,
): Omit<Banner, 'flags'> {
  const nhsOf = (p: Res) =>
    arr<{ system?: string; value?: string }>(p.identifier).find((i) => i.system === NHS_NUMBER_SYSTEM)?.value;
  const main =
    patients.find((p) => p.id === patientId && nhsOf(p)) ??
    patients.find((p) => nhsOf(p)) ??
    patients.find((p) => p.id === patientId) ??
    patients[0];
  const n = obj(arr(main?.name).find((x) => x.use === 'official') ?? arr(main?.name)[0]);
  const address = main
    ? formatAddress(arr(main.address).find((a) => a.use === 'home') ?? arr(main.address)[0])
    : undefined;
  const phone = main
    ? arr<{ system?: string; value?: string }>(main.telecom).find((t) => t.system === 'phone')?.value
    : undefined;
  const banner: Omit<Banner, 'flags'> = {
    patientId,
    family: str(n.family) ?? '',
    given: arr<string>(n.given).filter((g) => typeof g === 'string'),
    prefix: arr<string>(n.prefix).filter((g) => typeof g === 'string'),
    identityConflicts: identityConflicts(patients, sources),
  };
  const birth = main ? str(main.birthDate) : undefined;
  if (birth) banner.birthDate = birth;
  const gender = main ? str(main.gender) : undefined;
  if (gender) banner.gender = gender;
  const nhs = main ? nhsOf(main) : undefined;
  if (nhs) banner.nhsNumber = nhs;
  const deceased = main
    ? (str(main.deceasedDateTime) ?? (main.deceasedBoolean === true ? true : undefined))
    : undefined;
  if (deceased !== undefined) banner.deceased = deceased;
  if (restricted) {
    banner.address = null;
    banner.phone = null;
  } else {
    if (address) banner.address = address;
    if (phone) banner.phone = phone;
  }
  return banner;
}

/**
 * Where the linked Patient records of one person disagree: date of birth (a partial date agrees with a full
 * one that starts with it), gender, family name (ignoring case), NHS number.
 */
export function identityConflicts(patients: Res[], sources: Map<string, SourceRow> = new Map()): string[] {
  if (patients.length < 2) return [];
  const out: string[] = [];
  const label = (p: Res) => sources.get(`Patient/${p.id}`)?.sourceOrg ?? p.id;
  const check = (what: string, get: (p: Res) => string | undefined, agree: (a: string, b: string) => boolean) => {
    const vals = patients.map((p) => ({ p, v: get(p) })).filter((x): x is { p: Res; v: string } => x.v !== undefined);
    for (let i = 1; i < vals.length; i++) {
      const a = vals[0];
      const b = vals[i];
      if (a && b && !agree(a.v, b.v)) {
        out.push(`${what}: ${a.v} (${label(a.p)}) and ${b.v} (${label(b.p)})`);
        return;
      }
    }
  };
  check(
    'Date of birth',
    (p) => str(p.birthDate),
    (a, b) => a.startsWith(b) || b.startsWith(a),
  );
  check(
    'Gender',
    (p) => str(p.gender),
    (a, b) => a === b || a === 'unknown' || b === 'unknown',
  );
  check(
    'Family name',
    (p) => str(obj(arr(p.name)[0]).family),
    (a, b) => a.toLowerCase() === b.toLowerCase(),
  );
  check(
    'NHS number',
    (p) => arr<{ system?: string; value?: string }>(p.identifier).find((i) => i.system === NHS_NUMBER_SYSTEM)?.value,
    (a, b) => a === b,
  );
  return out;
}
