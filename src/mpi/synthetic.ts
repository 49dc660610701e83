/**
 * Synthetic people for tests and the benchmark: a seeded PRNG, small UK-flavoured name, street and town
 * lists (written for this project), skewed so some names are common, and NHS numbers from the 999 range
 * (never issued to real people). Nothing here is real patient data.
 */
import { nhsCheckDigit } from './normalise/nhs-number.ts';
import type { MatchRecord, Sex } from './types.ts';

/** mulberry32: small, fast, good enough for test data; the same seed gives the same people. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The NHS number `999 nnn nnnn` for a serial below one million with its check digit, or undefined for
 * the one serial in eleven whose check digit would be 10 (no valid number exists for it).
 */
export function syntheticNhsNumber(serial: number): string | undefined {
  const first9 = `999${String(serial % 1_000_000).padStart(6, '0')}`;
  const check = nhsCheckDigit(first9);
  return check === undefined ? undefined : `${first9}${check}`;
}

/** The first valid synthetic NHS numbers from `serial` on, `count` of them. */
export function syntheticNhsNumbers(count: number, serial = 0): string[] {
  const out: string[] = [];
  for (let s = serial; out.length < count; s++) {
    const n = syntheticNhsNumber(s);
    if (n !== undefined) out.push(n);
  }
  return out;
}

// prettier-ignore
export const FEMALE_NAMES = [
  'olivia', 'amelia', 'isla', 'ava', 'mia', 'ivy', 'lily', 'isabella', 'rosie', 'sophia', 'grace', 'freya',
  'willow', 'florence', 'emily', 'ella', 'poppy', 'evie', 'elsie', 'charlotte', 'evelyn', 'sienna', 'sofia',
  'daisy', 'phoebe', 'sarah', 'margaret', 'susan', 'elizabeth', 'catherine', 'joan', 'patricia', 'helen',
  'rachel', 'hannah', 'megan', 'chloe', 'lucy', 'jessica', 'bethan', 'siobhan', 'niamh', 'aoife', 'priya',
  'aisha', 'fatima', 'zara', 'amara', 'maryam', 'anika',
] as const;

// prettier-ignore
export const MALE_NAMES = [
  'oliver', 'george', 'noah', 'arthur', 'muhammad', 'leo', 'harry', 'oscar', 'archie', 'henry', 'theodore',
  'freddie', 'jack', 'charlie', 'theo', 'alfie', 'jacob', 'thomas', 'finley', 'arlo', 'william', 'james',
  'john', 'david', 'michael', 'peter', 'robert', 'richard', 'stephen', 'paul', 'andrew', 'mark', 'daniel',
  'matthew', 'christopher', 'gareth', 'rhys', 'dylan', 'callum', 'ewan', 'sean', 'declan', 'ravi', 'arjun',
  'omar', 'yusuf', 'kwame', 'tomasz', 'jakub', 'luca',
] as const;

// prettier-ignore
export const FAMILY_NAMES = [
  'smith', 'jones', 'williams', 'taylor', 'brown', 'davies', 'evans', 'wilson', 'thomas', 'johnson',
  'roberts', 'robinson', 'thompson', 'wright', 'walker', 'white', 'edwards', 'hughes', 'green', 'hall',
  'lewis', 'harris', 'clarke', 'patel', 'jackson', 'wood', 'turner', 'martin', 'cooper', 'hill', 'ward',
  'morris', 'moore', 'clark', 'lee', 'king', 'baker', 'harrison', 'morgan', 'allen', 'james', 'scott',
  'phillips', 'watson', 'davis', 'parker', 'price', 'bennett', 'young', 'griffiths', 'mitchell', 'kelly',
  'cook', 'carter', 'richardson', 'bailey', 'collins', 'bell', 'shaw', 'murphy', 'miller', 'cox',
  'richards', 'khan', 'marshall', 'anderson', 'simpson', 'ellis', 'adams', 'singh', 'begum', 'wilkinson',
  'foster', 'chapman', 'powell', 'webb', 'rogers', 'gray', 'mason', 'ali', 'hunt', 'hussain', 'campbell',
  'matthews', 'owen', 'palmer', 'holmes', 'mills', 'barnes', 'knight', 'lloyd', 'butler', 'russell',
  'barker', 'fisher', 'stevens', 'jenkins', 'murray', 'dixon', 'harvey', 'graham', 'pearson', 'ahmed',
  'fletcher', 'walsh', 'kaur', 'gibson', 'howard', 'andrews', 'stewart', 'elliott', 'reynolds', 'saunders',
  'payne', 'fox', 'ford', 'pearce', 'day', 'brooks', 'west', 'lawrence', 'cole', 'atkinson', 'bradley',
  'spencer', 'gill', 'dawson', 'ball', 'burton', "o'brien", 'watts', 'rose', 'booth', 'perry', 'ryan',
  'grant', 'wells', 'armstrong', 'francis', 'rees', 'hayes', 'hart', 'hudson', 'newman', 'barrett',
  'webster', 'hunter', 'gregory', 'carr', 'lowe', 'page', 'marsh', 'riley', 'dunn', 'woods', 'parsons',
  'berry', 'stone', 'reid', 'holland', 'hawkins', 'harding', 'porter', 'robertson', 'newton', 'oliver',
  'reed', 'kennedy', 'williamson', 'bird', 'gardner', 'shah', 'dean', 'lane', 'cooke', 'bates', 'henderson',
  'parry', 'burgess', 'bishop', 'walton', 'burns', 'nicholson', 'shepherd', 'ross', 'cross', 'long', 'freeman',
  'warren', 'nicholls', 'hamilton', 'byrne', 'sutton', 'mcdonald', 'yates', 'hodgson', 'robson', 'curtis',
  'hopkins', "o'connor", 'harper', 'coleman', 'watkins', 'moss', 'mccarthy', 'chambers', "o'neill", 'griffin',
  'sharp', 'hardy', 'wheeler', 'potter', 'osborne', 'johnston', 'gordon', 'doyle', 'wallace', 'george',
  'jordan', 'hutchinson', 'rowe', 'burke', 'may', 'pritchard', 'gilbert', 'willis', 'higgins', 'read',
  'miles', 'stevenson', 'stephenson', 'hammond', 'arnold', 'buckley', 'walters', 'hewitt', 'barber',
  'nelson', 'slater', 'austin', 'sullivan', 'whitehead', 'mann', 'frost', 'lambert', 'stephens', 'blake',
  'akhtar', 'lynch', 'goodwin', 'barton', 'woodward', 'thomson', 'cunningham', 'quinn', 'barnett', 'baxter',
  'bibi', 'clayton', 'nash', 'greenwood', 'jennings', 'holt', 'kemp', 'poole', 'gallagher', 'bond', 'stokes',
  'tucker', 'davidson', 'fowler', 'heath', 'norman', 'middleton', 'lees', 'banks', 'french', 'jarvis',
  'davey', 'nowak', 'kowalski', 'okafor', 'adeyemi', 'mensah', 'chowdhury', 'rahman', 'nguyen', 'chen',
] as const;

// prettier-ignore
const STREET_WORDS = [
  'high', 'station', 'church', 'park', 'victoria', 'green', 'manor', 'kings', 'queens', 'mill', 'school',
  'new', 'grange', 'windsor', 'york', 'albert', 'north', 'south', 'west', 'east', 'the', 'chapel', 'orchard',
  'meadow', 'oak', 'elm', 'ash', 'beech', 'willow', 'cedar', 'priory', 'abbey', 'castle', 'bridge', 'market',
  'springfield', 'highfield', 'mount', 'hillside', 'riverside', 'brook', 'forge', 'crown', 'rectory', 'glebe',
] as const;
const STREET_TYPES = [
  'street',
  'road',
  'lane',
  'avenue',
  'close',
  'drive',
  'way',
  'gardens',
  'crescent',
  'place',
] as const;
// prettier-ignore
const TOWNS = [
  'leeds', 'bradford', 'wakefield', 'halifax', 'huddersfield', 'york', 'harrogate', 'sheffield', 'doncaster',
  'rotherham', 'barnsley', 'hull', 'scarborough', 'manchester', 'salford', 'bolton', 'wigan', 'stockport',
  'oldham', 'rochdale', 'liverpool', 'preston', 'blackburn', 'lancaster', 'carlisle', 'newcastle upon tyne',
  'sunderland', 'durham', 'middlesbrough', 'darlington', 'nottingham', 'derby', 'leicester', 'lincoln',
  'birmingham', 'coventry', 'wolverhampton', 'stoke on trent', 'bristol', 'bath', 'exeter', 'plymouth',
] as const;
// prettier-ignore
const AREAS = ['LS', 'BD', 'WF', 'HX', 'HD', 'YO', 'HG', 'S', 'DN', 'HU', 'M', 'BL', 'WN', 'SK', 'OL', 'L', 'PR', 'BB', 'LA', 'CA'] as const;
const INWARD_LETTERS = 'ABDEFGHJLNPQRSTUWXYZ'.split('');

export interface SyntheticPerson extends MatchRecord {
  given: string;
  family: string;
  birthDate: string;
  sex: Sex;
  postcode: string;
}

/** Zipf-like pick: early entries of a list are much more common than late ones. */
function skewed<T>(rand: () => number, list: readonly T[]): T {
  const i = Math.floor(list.length * rand() ** 1.4);
  return list[Math.min(i, list.length - 1)] as T;
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)] as T;
}

function ukPostcode(rand: () => number): string {
  const area = pick(rand, AREAS);
  const district = 1 + Math.floor(rand() * 30);
  const sector = Math.floor(rand() * 10);
  const unit = `${pick(rand, INWARD_LETTERS)}${pick(rand, INWARD_LETTERS)}`;
  return `${area}${district} ${sector}${unit}`;
}

/** One synthetic, already-normalised person record. `n` makes the id and NHS number. */
export function syntheticPerson(rand: () => number, n: number, options: { nhsShare?: number } = {}): SyntheticPerson {
  const sex: Sex = rand() < 0.5 ? 'female' : 'male';
  const given = skewed(rand, sex === 'female' ? FEMALE_NAMES : MALE_NAMES);
  const family = skewed(rand, FAMILY_NAMES).replace(/'/g, '');
  const year = 1925 + Math.floor(rand() * 100);
  const month = 1 + Math.floor(rand() * 12);
  const day = 1 + Math.floor(rand() * 28);
  const person: SyntheticPerson = {
    id: `synthetic|${n}`,
    personId: `person-${n}`,
    given,
    family,
    birthDate: `${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`,
    sex,
    postcode: ukPostcode(rand),
    streetNumber: String(1 + Math.floor(rand() * 150)),
    street: `${pick(rand, STREET_WORDS)} ${pick(rand, STREET_TYPES)}`,
    town: pick(rand, TOWNS),
  };
  if (rand() < 0.3) person.middle = skewed(rand, sex === 'female' ? FEMALE_NAMES : MALE_NAMES);
  const nhsNumber = rand() < (options.nhsShare ?? 0.5) ? syntheticNhsNumber(n) : undefined;
  if (nhsNumber !== undefined) {
    person.nhsNumber = nhsNumber;
    person.nhsVerified = rand() < 0.8;
  }
  return person;
}

/** A copy with one typo (a swapped, dropped or changed letter) in `field`, as a duplicate record would have. */
export function withTypo(rand: () => number, record: MatchRecord, field: 'given' | 'family' | 'street'): MatchRecord {
  const v = record[field];
  if (v === undefined || v.length < 3) return { ...record };
  const i = 1 + Math.floor(rand() * (v.length - 2));
  const kind = Math.floor(rand() * 3);
  const typo =
    kind === 0
      ? v.slice(0, i) + (v[i + 1] ?? '') + (v[i] ?? '') + v.slice(i + 2)
      : kind === 1
        ? v.slice(0, i) + v.slice(i + 1)
        : v.slice(0, i) + String.fromCharCode(97 + Math.floor(rand() * 26)) + v.slice(i + 1);
  return { ...record, [field]: typo };
}
