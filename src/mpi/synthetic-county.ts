/**
 * A UK-shaped, multi-source synthetic test set for the master patient index, deterministic by seed: the
 * people of a county as four organisations hold them — a GP practice and a hospital (verified NHS numbers),
 * a social care system and an ambulance service (unverified or missing ones) — as FHIR (UK Core shaped)
 * Patients, with the truth (which person each record is) kept apart for scoring.
 *
 * Names: given and family names of many origins as found in the UK (English, Welsh, Scottish, Irish, South
 * Asian, African, Caribbean, Polish and other European, Chinese, Arabic, Somali, Turkish), written for
 * OpenICR from general knowledge of UK name frequency (common names first, picked with a skew so some are
 * much more common than others). Not copied from any list. NHS numbers are from the 999 range (never
 * issued). Nothing here is real patient data.
 *
 * Variations (each counted in `stats`): nicknames and short forms, initials, typos, double-barrelled and
 * hyphenated surnames written with a space or only one part, married surnames with the old name kept
 * (`use: old`) or only the old name held by an older source, house moves, missing and partial postcodes,
 * day/month swaps and single-digit date typos, transposed and mistyped NHS numbers, a wrong but verified
 * NHS number (another person's), missing NHS numbers in social care and ambulance records, records with only
 * an initial and a year of birth. Hard non-matches: twins (same surname, date of birth and address), parent
 * and child with the same name at the same address, common names with the same date of birth.
 */
import type { FhirResource } from '../fhir/types.ts';
import { NHS_NUMBER_SYSTEM, NHS_VERIFICATION_EXTENSION, NHS_VERIFICATION_SYSTEM } from './pds/pds-patient.ts';
import { seededRandom, syntheticNhsNumber } from './synthetic.ts';
import { givenNameVariants } from './names/given-name-variants.ts';

type Patient = FhirResource & { id: string };
type Sex = 'male' | 'female';

// prettier-ignore
const FEMALE = [
  'olivia', 'amelia', 'isla', 'ava', 'emily', 'sophie', 'grace', 'mia', 'poppy', 'ella', 'lily', 'evie',
  'jessica', 'charlotte', 'sarah', 'emma', 'rebecca', 'laura', 'hannah', 'lucy', 'amy', 'rachel', 'katherine',
  'elizabeth', 'margaret', 'susan', 'patricia', 'jennifer', 'victoria', 'samantha', 'nicola', 'joanna',
  'catherine', 'helen', 'deborah', 'caroline', 'alison', 'christine', 'gillian', 'janet', 'barbara', 'dorothy',
  'jean', 'joan', 'mary', 'anne', 'pamela', 'valerie', 'sandra', 'karen', 'julie', 'tracey', 'michelle',
  'megan', 'bethan', 'ffion', 'cerys', 'seren', 'eilidh', 'kirsty', 'morag', 'siobhan', 'niamh', 'aoife',
  'roisin', 'priya', 'anjali', 'sunita', 'harpreet', 'gurpreet', 'manpreet', 'nasreen', 'fatima', 'ayesha',
  'aisha', 'zainab', 'maryam', 'mariam', 'amina', 'hafsa', 'sadia', 'shabana', 'rukhsana', 'nusrat', 'fahmida',
  'chioma', 'ngozi', 'adaeze', 'folasade', 'abena', 'ama', 'akosua', 'grace', 'blessing', 'precious', 'shanice',
  'keisha', 'tanisha', 'agnieszka', 'katarzyna', 'malgorzata', 'anna', 'magdalena', 'ioana', 'elena', 'mei',
  'xin', 'ling', 'hodan', 'fadumo', 'ayan', 'elif', 'zeynep', 'alexandra', 'georgina', 'eleanor', 'florence',
  'abigail', 'harriet', 'isabel', 'josephine', 'penelope', 'rosemary', 'frances', 'judith', 'yvonne',
] as const;

// prettier-ignore
const MALE = [
  'oliver', 'george', 'harry', 'noah', 'jack', 'jacob', 'leo', 'oscar', 'charlie', 'muhammad', 'thomas',
  'james', 'william', 'joshua', 'daniel', 'samuel', 'joseph', 'benjamin', 'matthew', 'alexander', 'christopher',
  'david', 'michael', 'andrew', 'richard', 'robert', 'peter', 'john', 'paul', 'stephen', 'mark', 'anthony',
  'nicholas', 'jonathan', 'edward', 'timothy', 'philip', 'kenneth', 'ronald', 'raymond', 'frederick', 'albert',
  'arthur', 'alfred', 'henry', 'gareth', 'rhys', 'dylan', 'owain', 'iwan', 'callum', 'ewan', 'fraser', 'hamish',
  'angus', 'sean', 'liam', 'ciaran', 'declan', 'padraig', 'ravi', 'arjun', 'sanjay', 'rajesh', 'vikram',
  'gurpreet', 'jagdeep', 'harjit', 'sukhwinder', 'mohammed', 'mohammad', 'ahmed', 'ali', 'imran', 'tariq',
  'bilal', 'hamza', 'yusuf', 'ibrahim', 'omar', 'abdul', 'shahid', 'kamal', 'rahim', 'chukwuemeka', 'obinna',
  'oluwaseun', 'tunde', 'kwame', 'kofi', 'kwabena', 'tyrone', 'jermaine', 'delroy', 'winston', 'tomasz',
  'krzysztof', 'piotr', 'pawel', 'jakub', 'andrzej', 'wojciech', 'ion', 'andrei', 'wei', 'jian', 'hao', 'abdi',
  'mohamed', 'ahmet', 'mehmet', 'mustafa', 'luca', 'marco', 'francis', 'gregory', 'terence', 'vincent', 'walter',
] as const;

// prettier-ignore
const FAMILY = [
  'smith', 'jones', 'williams', 'taylor', 'brown', 'davies', 'evans', 'wilson', 'thomas', 'johnson', 'roberts',
  'robinson', 'thompson', 'wright', 'walker', 'white', 'edwards', 'hughes', 'green', 'hall', 'lewis', 'harris',
  'clarke', 'patel', 'jackson', 'wood', 'turner', 'martin', 'cooper', 'hill', 'ward', 'morris', 'moore', 'clark',
  'lee', 'king', 'baker', 'harrison', 'morgan', 'allen', 'james', 'scott', 'phillips', 'watson', 'davis', 'parker',
  'price', 'bennett', 'young', 'griffiths', 'mitchell', 'kelly', 'cook', 'carter', 'richardson', 'bailey',
  'collins', 'bell', 'shaw', 'murphy', 'miller', 'cox', 'richards', 'khan', 'marshall', 'anderson', 'simpson',
  'ellis', 'adams', 'singh', 'begum', 'wilkinson', 'foster', 'chapman', 'powell', 'webb', 'rogers', 'gray',
  'mason', 'ali', 'hunt', 'hussain', 'campbell', 'matthews', 'owen', 'palmer', 'holmes', 'mills', 'barnes',
  'knight', 'lloyd', 'butler', 'russell', 'barker', 'fisher', 'stevens', 'jenkins', 'murray', 'dixon', 'harvey',
  'ahmed', 'kaur', 'akhtar', 'shah', 'rahman', 'islam', 'uddin', 'miah', 'chowdhury', 'hossain', 'mahmood',
  'iqbal', 'aslam', 'bibi', 'sharma', 'kumar', 'gill', 'sandhu', 'sidhu', 'dhillon', 'mistry', 'desai', 'joshi',
  'okafor', 'okonkwo', 'adeyemi', 'adebayo', 'oyelaran', 'mensah', 'owusu', 'boateng', 'asante', 'campbell',
  'francis', 'grant', 'henry', 'nowak', 'kowalski', 'wisniewski', 'wojcik', 'kaminski', 'lewandowski', 'popescu',
  'ionescu', 'chen', 'wang', 'li', 'zhang', 'nguyen', 'tran', 'mohamed', 'abdi', 'hassan', 'yilmaz', 'kaya',
  "o'brien", "o'connor", "o'neill", 'mcdonald', 'macleod', 'mackenzie', 'fitzgerald', 'gallagher', 'doherty',
  'llewellyn', 'pritchard', 'vaughan', 'rees', 'parry', 'ap rhys', 'de souza', 'van der merwe', 'st john',
] as const;

// prettier-ignore
const STREETS = [
  'high street', 'station road', 'church lane', 'park avenue', 'victoria road', 'green lane', 'manor close',
  'kings road', 'queens drive', 'mill lane', 'school lane', 'new street', 'grange road', 'windsor crescent',
  'york way', 'albert street', 'chapel street', 'orchard close', 'meadow view', 'oak avenue', 'elm grove',
  'ash court', 'beech drive', 'willow gardens', 'cedar close', 'priory road', 'abbey lane', 'castle street',
  'bridge street', 'market place', 'springfield road', 'highfield avenue', 'hillside', 'riverside walk',
  'brook street', 'forge lane', 'crown street', 'rectory road', 'glebe close', 'clarence street',
] as const;
// prettier-ignore
const TOWNS = [
  ['leeds', 'LS'], ['bradford', 'BD'], ['wakefield', 'WF'], ['halifax', 'HX'], ['huddersfield', 'HD'],
  ['harrogate', 'HG'], ['york', 'YO'], ['keighley', 'BD'], ['pontefract', 'WF'], ['otley', 'LS'],
] as const;
const INWARD = 'ABDEFGHJLNPQRSTUWXYZ'.split('');

export interface CountySetOptions {
  seed?: number;
  /** People in the county (default 3,500, about 6,000 source records). */
  people?: number;
}

export interface CountySet {
  sources: Array<{ name: string; patients: Patient[] }>;
  /** Patient id → the person it truly is. */
  truth: Map<string, string>;
  /** How many records carry each variation, and how many hard non-match groups were made. */
  stats: Record<string, number>;
}

interface Address {
  number: string;
  street: string;
  town: string;
  postcode: string;
}

interface Person {
  key: string;
  sex: Sex;
  given: string;
  middle?: string;
  family: string;
  /** Surname before a change (marriage): older sources hold it. */
  formerFamily?: string;
  birth: { y: number; m: number; d: number };
  nhs: string;
  address: Address;
  /** The address before a move: older sources hold it. */
  formerAddress?: Address;
}

export const COUNTY_SOURCES = {
  gp: 'https://gp.example/Id/patient',
  acute: 'https://acute-trust.example/Id/mrn',
  'social-care': 'https://council.example/Id/social-care-id',
  ambulance: 'https://ambulance.example/Id/incident-patient',
} as const;
export type CountySource = keyof typeof COUNTY_SOURCES;

export function countySet(opts: CountySetOptions = {}): CountySet {
  const rand = seededRandom(opts.seed ?? 13);
  const total = opts.people ?? 3500;
  const stats: Record<string, number> = {};
  const count = (k: string) => (stats[k] = (stats[k] ?? 0) + 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const skewed = <T>(list: readonly T[]): T =>
    list[Math.min(list.length - 1, Math.floor(list.length * rand() ** 1.8))] as T;
  let nhsSerial = 100_000;
  const nextNhs = (): string => {
    for (;;) {
      const n = syntheticNhsNumber(nhsSerial++);
      if (n !== undefined) return n;
    }
  };
  const address = (): Address => {
    const [town, area] = pick(TOWNS);
    return {
      number: String(1 + Math.floor(rand() * 180)),
      street: pick(STREETS),
      town,
      postcode: `${area}${1 + Math.floor(rand() * 28)} ${Math.floor(rand() * 10)}${pick(INWARD)}${pick(INWARD)}`,
    };
  };
  const givenFor = (sex: Sex) => skewed(sex === 'female' ? FEMALE : MALE);
  const birth = (from = 1930, to = 2024) => ({
    y: from + Math.floor(rand() * (to - from)),
    m: 1 + Math.floor(rand() * 12),
    d: 1 + Math.floor(rand() * 28),
  });
  const familyName = (): string => {
    if (rand() < 0.04) {
      count('double-barrelled surname');
      let b = skewed(FAMILY);
      while (b === 'smith') b = skewed(FAMILY);
      return `${skewed(FAMILY)}-${b}`;
    }
    return skewed(FAMILY);
  };

  // The people, in households that make the hard non-matches.
  const people: Person[] = [];
  const newPerson = (p: Omit<Person, 'key' | 'nhs'>): Person => {
    const person = { ...p, key: `person-${people.length + 1}`, nhs: nextNhs() };
    people.push(person);
    return person;
  };
  while (people.length < total) {
    const r = rand();
    const sex: Sex = rand() < 0.5 ? 'female' : 'male';
    const home = address();
    if (r < 0.015) {
      // Twins: same surname, date of birth and address; different given names; consecutive NHS numbers.
      count('twin pairs');
      const family = familyName();
      const b = birth(1950);
      const a = newPerson({ sex, given: givenFor(sex), family, birth: b, address: home });
      const sex2: Sex = rand() < 0.5 ? sex : sex === 'male' ? 'female' : 'male';
      let given2 = givenFor(sex2);
      while (given2 === a.given || givenNameVariants().same(given2, a.given)) given2 = givenFor(sex2);
      newPerson({ sex: sex2, given: given2, family, birth: b, address: home });
    } else if (r < 0.03) {
      // Parent and child with the same name at the same address (a "junior").
      count('parent and child with the same name');
      const family = familyName();
      const given = givenFor(sex);
      const b = birth(1940, 1975);
      newPerson({ sex, given, family, birth: b, address: home });
      newPerson({ sex, given, family, birth: birth(b.y + 20, Math.min(2024, b.y + 45)), address: home });
    } else if (r < 0.05) {
      // Common names with the same date of birth: two people, different addresses.
      count('common name and date of birth pairs');
      const given = skewed((sex === 'female' ? FEMALE : MALE).slice(0, 8));
      const family = skewed(FAMILY.slice(0, 10));
      const b = birth();
      newPerson({ sex, given, family, birth: b, address: home });
      newPerson({ sex, given, family, birth: b, address: address() });
    } else {
      const p: Omit<Person, 'key' | 'nhs'> = {
        sex,
        given: givenFor(sex),
        family: familyName(),
        birth: birth(),
        address: home,
      };
      if (rand() < 0.3) p.middle = givenFor(sex);
      if (sex === 'female' && p.birth.y < 2000 && rand() < 0.15) {
        p.formerFamily = p.family;
        p.family = familyName();
      }
      if (rand() < 0.12) p.formerAddress = address();
      newPerson(p);
    }
  }

  const sources: CountySet['sources'] = [];
  const truth = new Map<string, string>();
  const plan: Array<[CountySource, number]> = [
    ['gp', 0.95],
    ['acute', 0.55],
    ['social-care', 0.15],
    ['ambulance', 0.15],
  ];
  for (const [source, share] of plan) {
    const patients: Patient[] = [];
    for (const person of people) {
      if (rand() >= share) continue;
      const id = `${source}-${patients.length + 1}`;
      patients.push(sourceRecord(source, id, person));
      truth.set(id, person.key);
    }
    sources.push({ name: source, patients });
  }
  return { sources, truth, stats };

  function sourceRecord(source: CountySource, id: string, p: Person): Patient {
    const older = source !== 'gp';
    const chance = (gp: number, acute: number, social: number, ambulance: number): boolean =>
      rand() < { gp, acute, 'social-care': social, ambulance }[source];

    // NHS number: present and verified at the GP and the hospital; often missing or unverified elsewhere.
    let nhs: string | undefined = chance(0.995, 0.95, 0.5, 0.2) ? p.nhs : undefined;
    let verified = nhs !== undefined && chance(0.98, 0.9, 0, 0);
    if (nhs !== undefined && chance(0, 0.003, 0, 0)) {
      // The wrong-patient hazard: another person's number, marked verified.
      nhs = pick(people).nhs;
      if (nhs !== p.nhs) {
        verified = true;
        count('wrong but verified NHS number');
      }
    }
    if (nhs !== undefined && !verified && chance(0, 0, 0.06, 0.08)) {
      const d = nhs.split('');
      const i = Math.floor(rand() * 9);
      if (rand() < 0.5) {
        [d[i], d[i + 1]] = [d[i + 1] as string, d[i] as string];
        count('transposed NHS number');
      } else {
        d[i] = String((Number(d[i]) + 1 + Math.floor(rand() * 8)) % 10);
        count('mistyped NHS number');
      }
      nhs = d.join('');
    }
    if (nhs === undefined && source !== 'gp') count(`missing NHS number (${source})`);

    // Names.
    let given = p.given;
    let middle = p.middle;
    let family = p.family;
    const names: Array<Record<string, unknown>> = [];
    if (older && p.formerFamily !== undefined && chance(0, 0.4, 0.5, 0.3)) {
      family = p.formerFamily;
      count('older source holds the surname before a change');
    } else if (p.formerFamily !== undefined && chance(0.6, 0.3, 0, 0)) {
      names.push({ use: 'old', family: title(p.formerFamily), given: [title(p.given)] });
      count('surname history kept (use: old)');
    }
    const variants = nicknamesOf(given);
    if (variants.length > 0 && chance(0.03, 0.08, 0.15, 0.15)) {
      given = pick(variants);
      count('nickname or short form');
    } else if (chance(0, 0.01, 0.03, 0.03)) {
      given = given.charAt(0);
      count('initial for the given name');
    } else if (chance(0.005, 0.03, 0.04, 0.06)) {
      given = typo(given);
      count('typo in the given name');
    }
    if (family.includes('-') && chance(0.1, 0.5, 0.5, 0.5)) {
      const parts = family.split('-');
      const v = Math.floor(rand() * 3);
      family = v === 0 ? parts.join(' ') : v === 1 ? (parts[1] as string) : parts.join('');
      count('double-barrelled surname written differently');
    } else if (chance(0.005, 0.03, 0.04, 0.06)) {
      family = typo(family);
      count('typo in the family name');
    }
    if (middle !== undefined && chance(0, 0.3, 0.5, 0.8)) middle = undefined;

    // Date of birth.
    let { y, m, d } = p.birth;
    let yearOnly = false;
    if (source === 'ambulance' && chance(0, 0, 0, 0.06)) {
      yearOnly = true;
      given = given.charAt(0);
      count('initial and year of birth only');
    } else if (d <= 12 && d !== m && chance(0.002, 0.015, 0.03, 0.04)) {
      [d, m] = [m, d];
      count('day and month swapped');
    } else if (chance(0.003, 0.02, 0.03, 0.05)) {
      const digits = `${y}${pad(m)}${pad(d)}`.split('');
      for (let tries = 0; tries < 10; tries++) {
        const i = 2 + Math.floor(rand() * 6);
        const copy = [...digits];
        copy[i] = String((Number(copy[i]) + 1 + Math.floor(rand() * 8)) % 10);
        const s = copy.join('');
        const [ny, nm, nd] = [Number(s.slice(0, 4)), Number(s.slice(4, 6)), Number(s.slice(6, 8))];
        if (nm >= 1 && nm <= 12 && nd >= 1 && nd <= 28 && ny <= 2025) {
          [y, m, d] = [ny, nm, nd];
          count('single-digit date of birth typo');
          break;
        }
      }
    }

    // Address.
    let addr = p.address;
    if (older && p.formerAddress !== undefined && chance(0, 0.5, 0.5, 0.3)) {
      addr = p.formerAddress;
      count('older source holds the address before a move');
    }
    let postcode: string | undefined = addr.postcode;
    if (chance(0.005, 0.03, 0.06, 0.12)) {
      postcode = undefined;
      count('missing postcode');
    } else if (chance(0, 0.01, 0.06, 0.12)) {
      postcode = addr.postcode.split(' ')[0];
      count('partial postcode (outward code only)');
    }

    const identifier: unknown[] = [{ system: COUNTY_SOURCES[source], value: id.toUpperCase() }];
    if (nhs !== undefined) {
      identifier.push({
        system: NHS_NUMBER_SYSTEM,
        value: nhs,
        extension: [
          {
            url: NHS_VERIFICATION_EXTENSION,
            valueCodeableConcept: { coding: [{ system: NHS_VERIFICATION_SYSTEM, code: verified ? '01' : '02' }] },
          },
        ],
      });
    }
    const current: Record<string, unknown> = { use: 'official', family: title(family), given: [title(given)] };
    if (middle !== undefined) (current.given as string[]).push(title(middle));
    const patient: Patient = { resourceType: 'Patient', id, identifier, name: [current, ...names] };
    if (!(source === 'ambulance' && chance(0, 0, 0, 0.05))) patient.gender = p.sex;
    patient.birthDate = yearOnly ? String(y) : `${y}-${pad(m)}-${pad(d)}`;
    const address: Record<string, unknown> = {
      use: 'home',
      line: [`${addr.number} ${title(addr.street)}`],
      city: title(addr.town),
    };
    if (postcode !== undefined) address.postalCode = postcode;
    if (!(source === 'ambulance' && chance(0, 0, 0, 0.1))) patient.address = [address];
    return patient;
  }

  function nicknamesOf(given: string): string[] {
    const v = givenNameVariants();
    const out: string[] = [];
    for (const candidate of ALL_SHORT_FORMS) if (candidate !== given && v.same(candidate, given)) out.push(candidate);
    return out;
  }

  function typo(v: string): string {
    if (v.length < 4) return v;
    const i = 1 + Math.floor(rand() * (v.length - 2));
    const kind = Math.floor(rand() * 3);
    if (kind === 0) return v.slice(0, i) + (v[i + 1] ?? '') + (v[i] ?? '') + v.slice(i + 2);
    if (kind === 1) return v.slice(0, i) + v.slice(i + 1);
    return v.slice(0, i) + String.fromCharCode(97 + Math.floor(rand() * 26)) + v.slice(i + 1);
  }
}

/** Short forms the generator may use (all names of the variants list). */
// prettier-ignore
const ALL_SHORT_FORMS = [
  'abby', 'alex', 'alf', 'alfie', 'andy', 'angie', 'annie', 'ant', 'archie', 'barb', 'becky', 'bella', 'ben',
  'bert', 'bess', 'beth', 'betty', 'bill', 'billy', 'bob', 'bobby', 'cath', 'cathy', 'charlie', 'chris', 'dan',
  'danny', 'dave', 'debbie', 'di', 'dick', 'dot', 'ed', 'eddie', 'ellie', 'fred', 'freddie', 'geoff', 'gill',
  'greg', 'harry', 'izzy', 'jack', 'jake', 'jamie', 'jenny', 'jess', 'jim', 'jimmy', 'jo', 'joe', 'johnny',
  'jon', 'josh', 'judy', 'kate', 'katie', 'kathy', 'ken', 'kenny', 'liz', 'lizzie', 'maggie', 'matt', 'meg',
  'mick', 'mike', 'mo', 'molly', 'nick', 'nicky', 'ollie', 'pam', 'pat', 'peggy', 'pete', 'phil', 'polly',
  'ray', 'rob', 'robbie', 'ron', 'rosie', 'sally', 'sam', 'sandy', 'steve', 'sue', 'susie', 'ted', 'terry',
  'theo', 'tim', 'tom', 'tommy', 'tony', 'val', 'vicky', 'vince', 'will', 'raj', 'obi', 'seun', 'emeka',
  'kasia', 'gosia', 'wojtek', 'krzys', 'sukhi', 'mani', 'jag', 'abdul', 'yousef', 'muhammed', 'mohamad',
  'fran', 'frankie', 'frank', 'penny', 'rose', 'jules', 'julie', 'nell', 'flo', 'georgie', 'gina', 'lexi',
];

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function title(s: string): string {
  return s.replace(/(^|[\s\-'])([a-z])/g, (_, a: string, c: string) => a + c.toUpperCase());
}
