import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSearchsetJson } from './bundle.ts';
import { parseSearch } from './parse.ts';

const stored = '{"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"name":[{"family":"Smith"}]}';
const row = {
  resourceType: 'Patient',
  id: 'p1',
  versionId: 1,
  lastUpdated: '2024-01-01T00:00:00.000Z',
  json: stored,
  personId: 'person-1',
};

describe('buildSearchsetJson', () => {
  test('entries embed the stored text unchanged, with fullUrl and search mode', () => {
    const req = parseSearch('Patient', new URLSearchParams('family=smith&_revinclude=Observation:subject'));
    const inc = { ...row, resourceType: 'Observation', id: 'o1', json: '{"resourceType":"Observation","id":"o1"}' };
    const text = buildSearchsetJson(
      { total: 1, matches: [row], includes: [inc], hasMore: false },
      req,
      'http://h/fhir/',
    );
    assert.ok(text.includes(`"resource":${stored}`));
    const b = JSON.parse(text);
    assert.equal(b.resourceType, 'Bundle');
    assert.equal(b.type, 'searchset');
    assert.equal(b.total, 1);
    assert.deepEqual(
      b.entry.map((e: { fullUrl: string; search: { mode: string } }) => [e.fullUrl, e.search.mode]),
      [
        ['http://h/fhir/Patient/p1', 'match'],
        ['http://h/fhir/Observation/o1', 'include'],
      ],
    );
  });

  test('paging links reproduce the query: self, first, previous, next', () => {
    const req = parseSearch('Patient', new URLSearchParams('family=smith&_count=10&_offset=20&_sort=-birthdate'));
    const b = JSON.parse(
      buildSearchsetJson({ total: 45, matches: [row], includes: [], hasMore: true }, req, 'http://h/fhir'),
    );
    const links = Object.fromEntries(
      b.link.map((l: { relation: string; url: string }) => [l.relation, new URL(l.url)]),
    );
    assert.deepEqual(Object.keys(links), ['self', 'first', 'previous', 'next']);
    assert.equal(links.self.pathname, '/fhir/Patient');
    assert.equal(links.self.searchParams.get('family'), 'smith');
    assert.equal(links.self.searchParams.get('_sort'), '-birthdate');
    assert.equal(links.self.searchParams.get('_offset'), '20');
    assert.equal(links.first.searchParams.get('_offset'), null);
    assert.equal(links.previous.searchParams.get('_offset'), '10');
    assert.equal(links.next.searchParams.get('_offset'), '30');
    assert.equal(links.next.searchParams.get('_count'), '10');
  });

  test('last page has no next; unknown total is left out; _summary=count has no entries', () => {
    const req = parseSearch('Patient', new URLSearchParams('_total=none'));
    const b = JSON.parse(buildSearchsetJson({ matches: [], includes: [], hasMore: false }, req, 'http://h/fhir'));
    assert.equal(b.total, undefined);
    assert.deepEqual(
      b.link.map((l: { relation: string }) => l.relation),
      ['self', 'first'],
    );
    assert.equal(b.entry, undefined);
    const c = parseSearch('Patient', new URLSearchParams('_summary=count'));
    const cb = JSON.parse(
      buildSearchsetJson({ total: 3, matches: [], includes: [], hasMore: false }, c, 'http://h/fhir'),
    );
    assert.equal(cb.total, 3);
    assert.deepEqual(
      cb.link.map((l: { relation: string }) => l.relation),
      ['self'],
    );
  });

  test('lenient: ignored parameters are reported in an OperationOutcome entry', () => {
    const req = parseSearch('Patient', new URLSearchParams('foo=1&family=smith'), { lenient: true });
    const b = JSON.parse(
      buildSearchsetJson({ total: 0, matches: [], includes: [], hasMore: false }, req, 'http://h/fhir'),
    );
    const outcome = b.entry[0];
    assert.equal(outcome.search.mode, 'outcome');
    assert.equal(outcome.resource.resourceType, 'OperationOutcome');
    assert.match(outcome.resource.issue[0].diagnostics, /foo/);
    assert.equal(new URL(b.link[0].url).searchParams.get('foo'), null);
  });
});
