import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImportBatch } from '../../records/import/entries.ts';
import { kindOf, listSourceFiles } from './list-files.ts';
import { ndjsonEntry } from './ndjson-file.ts';
import { HL7_NO_FEED, hl7Batches, jsonBatch, readSources } from './read-sources.ts';

async function collect(it: AsyncIterable<ImportBatch>): Promise<ImportBatch[]> {
  const out: ImportBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('import file readers', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'icr-readers-'));
    mkdirSync(path.join(dir, 'b-sub'));
    writeFileSync(path.join(dir, 'b-sub', 'z.json'), JSON.stringify({ resourceType: 'Patient', id: 'p1' }));
    writeFileSync(
      path.join(dir, 'a.ndjson'),
      Array.from({ length: 5 }, (_, i) => JSON.stringify({ resourceType: 'Patient', id: `n${i}` })).join('\r\n') +
        '\n\n{bad\n',
    );
    writeFileSync(path.join(dir, 'c.hl7'), 'MSH|^~\\&|A|B\r');
    writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    writeFileSync(path.join(dir, '.hidden.json'), '{}');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists folders recursively in sorted order with source keys relative to the folder', async () => {
    const files = await listSourceFiles([dir]);
    assert.deepEqual(
      files.map((f) => [f.sourceKey, f.kind]),
      [
        ['a.ndjson', 'ndjson'],
        ['b-sub/z.json', 'json'],
        ['c.hl7', 'hl7'],
        ['notes.txt', 'other'],
      ],
    );
    const single = await listSourceFiles([path.join(dir, 'b-sub', 'z.json')]);
    assert.equal(single[0]?.sourceKey, 'z.json');
    await assert.rejects(listSourceFiles([path.join(dir, 'missing')]), /no such file or folder/);
    assert.equal(kindOf('X.NDJSON'), 'ndjson');
  });

  it('reads NDJSON in chunks, naming bad lines, and gives notices for HL7 v2 and other files', async () => {
    const files = await listSourceFiles([dir]);
    const batches = await collect(readSources(files, { chunkLines: 2 }));
    const nd = batches.filter((b) => b.sourceKey === 'a.ndjson');
    assert.deepEqual(
      nd.map((b) => b.entries.length),
      [2, 2, 2, 0],
    );
    assert.deepEqual(
      nd.map((b) => b.lastOfFile),
      [false, false, false, true],
    );
    const bad = nd[2]?.entries[1];
    assert.equal(bad?.position, 7);
    assert.match(bad?.error ?? '', /^malformed JSON at line 7:2/);
    assert.equal(nd[2]?.entries[0]?.position, 5);
    const hl7 = batches.find((b) => b.sourceKey === 'c.hl7');
    assert.equal(hl7?.notice, HL7_NO_FEED);
    assert.match(batches.find((b) => b.sourceKey === 'notes.txt')?.notice ?? '', /not an import file/);
    const single = batches.find((b) => b.sourceKey === 'b-sub/z.json');
    assert.equal(single?.unit, 'file');
    assert.deepEqual(single?.entries, [{ position: 0, resource: { resourceType: 'Patient', id: 'p1' } }]);
  });

  it('splits Bundles into entries with fullUrl and request', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient' }, request: { method: 'post', url: 'Patient' } },
        { request: { method: 'DELETE', url: 'Patient/9' } },
        'junk',
      ],
    };
    const b = jsonBatch(JSON.stringify(bundle), 'f.json', 'f.json');
    assert.equal(b.unit, 'entry');
    assert.deepEqual(b.entries, [
      {
        position: 0,
        resource: { resourceType: 'Patient' },
        fullUrl: 'urn:uuid:1',
        requestMethod: 'POST',
        requestUrl: 'Patient',
      },
      { position: 1, requestMethod: 'DELETE', requestUrl: 'Patient/9' },
      { position: 2, error: 'the entry is not an object' },
    ]);
    for (const type of ['batch', 'collection', 'searchset']) {
      assert.equal(jsonBatch(JSON.stringify({ ...bundle, type }), 'f.json', 'f.json').error, undefined, type);
    }
    assert.match(jsonBatch(JSON.stringify({ ...bundle, type: 'history' }), 'f', 'f').error ?? '', /not importable/);
  });

  it('reports malformed JSON and non-FHIR JSON as a file error', () => {
    assert.equal(
      jsonBatch('{\n  "resourceType": "Bundle",\n  "entry": [\n}', 'x.json', 'x.json').error,
      'malformed JSON at line 4:1 (unexpected character)',
    );
    assert.match(jsonBatch('[1,2]', 'x.json', 'x.json').error ?? '', /not a FHIR resource/);
  });

  it('parses one NDJSON line', () => {
    assert.deepEqual(ndjsonEntry('{"resourceType":"Patient"}', 3), {
      position: 3,
      resource: { resourceType: 'Patient' },
    });
    assert.match(ndjsonEntry('{"a":', 4).error ?? '', /line 4:6 \(unexpected end of input\)/);
  });
});

describe('HL7 v2 files', () => {
  const ctx = { feedId: 'pas-files', orgOds: 'RX1' };
  const msh = (c: string, type = 'ADT^A01') => `MSH|^~\\&|PAS|RX1|ICR|ICR|20260101||${type}|${c}|P|2.4`;
  it('map each message to its own batch, naming refused and unmapped messages by number', () => {
    const text = [
      msh('1'),
      'PID|1||H1^^^RX1^MR||DOE^JO||19700101|F',
      'PV1|1|I|W1',
      msh('2', 'ORM^O01'),
      'PID|1||H1^^^RX1^MR',
      'MSH|^~\\&|PAS|RX1|ICR|ICR|20260101||ADT^A01||P|2.4',
    ].join('\n');
    const batches = hl7Batches(Buffer.from(text), 'adt.hl7', 'adt.hl7', ctx);
    assert.equal(batches.length, 3);
    assert.deepEqual(
      batches.map((b) => [b.unit, b.lastOfFile]),
      [
        ['message', false],
        ['message', false],
        ['message', true],
      ],
    );
    assert.deepEqual(
      batches[0]?.entries.map((e) => (e.resource as { resourceType: string }).resourceType),
      ['Patient', 'Encounter'],
    );
    assert.deepEqual(batches[1]?.entries, [{ position: 2, requestMethod: 'ORM^O01 has no mapping yet' }]);
    assert.match(batches[2]?.entries[0]?.error ?? '', /^HL7 v2: MSH-10 message control id is missing/);
  });

  it('refuse a file that is not HL7 v2 text as a whole', () => {
    assert.match(hl7Batches(Buffer.from([0xff, 0xfe, 0x00]), 'x.hl7', 'x.hl7', ctx)[0]?.error ?? '', /not valid UTF-8/);
    assert.match(hl7Batches(Buffer.alloc(0), 'e.hl7', 'e.hl7', ctx)[0]?.error ?? '', /holds no HL7 v2 message/);
  });
});
