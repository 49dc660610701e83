/**
 * The viewer's document route (`/patient/:id/documents/:doc/pdf`) serves a PDF only from the record of the
 * person whose page it is: a document of another person answers as one that does not exist, and nothing of
 * it is read or audited. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditLog, AuditRecord } from '../src/audit/audit-record.ts';
import { findDemoUser } from '../src/auth/demo-users.ts';
import { loadDemoData } from '../src/records/demo/demo-load.ts';
import { ViewerRecords } from '../src/records/viewer/viewer-records.ts';
import { SYSTEM_ACTOR, type UserActor } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const PDF = Buffer.from('%PDF-1.4\n% synthetic test letter\n%%EOF\n', 'latin1');

function gp(): UserActor {
  const u = findDemoUser('gp-a81001');
  if (!u) throw new Error('no demo GP');
  return { kind: 'user', userId: u.id, orgOds: u.org, role: u.role, displayName: u.name };
}

for (const kind of testDatabases) {
  describe(`the viewer's PDF documents belong to the page's person (${kind})`, () => {
    let ta: TestApp;
    let viewer: ViewerRecords;
    const audited: AuditRecord[] = [];
    const audit: AuditLog = {
      async record(_db, rec) {
        audited.push(rec);
      },
    };
    let first = '';
    let second = '';

    before(async () => {
      ta = await openTestApp(kind, {}, { audit });
      await loadDemoData(ta.records, { sharedDataDir: '/nonexistent-shared-data', log: () => undefined });
      const ids = async (nhs: string) => {
        const json = await ta.records.search(
          SYSTEM_ACTOR,
          'Patient',
          new URLSearchParams({ identifier: `${NHS}|${nhs}` }),
          {
            baseUrl: 'urn:test',
          },
        );
        return (JSON.parse(json) as { entry?: Array<{ resource: { id: string } }> }).entry?.[0]?.resource.id ?? '';
      };
      // Two demo people registered with the demo GP practice (A81001): the GP may see both records.
      first = await ids('9990000018');
      second = await ids('9990000026');
      assert.ok(first && second && first !== second, 'two demo people');
      await ta.records.update(SYSTEM_ACTOR, {
        resourceType: 'DocumentReference',
        id: 'doc-first-letter',
        status: 'current',
        type: { text: 'Clinic letter' },
        subject: { reference: `Patient/${first}` },
        date: '2026-11-25T10:00:00Z',
        content: [{ attachment: { contentType: 'application/pdf', data: PDF.toString('base64') } }],
      });
      viewer = new ViewerRecords({ records: ta.records });
    });
    after(async () => {
      await ta.close();
    });

    test("serves the PDF on its own person's page, audited as a read of the document", async () => {
      audited.length = 0;
      const pdf = await viewer.documentPdf(gp(), first, 'doc-first-letter');
      assert.deepEqual(pdf, PDF);
      assert.equal(audited.length, 1);
      assert.match(JSON.stringify(audited[0]), /doc-first-letter/);
    });

    test("answers not found on another person's page, reading and auditing nothing", async () => {
      audited.length = 0;
      await assert.rejects(viewer.documentPdf(gp(), second, 'doc-first-letter'), { code: 'ICR_NOT_FOUND' });
      await assert.rejects(viewer.documentPdf(gp(), 'no-such-patient', 'doc-first-letter'), {
        code: 'ICR_NOT_FOUND',
      });
      await assert.rejects(viewer.documentPdf(gp(), first, 'no-such-document'), { code: 'ICR_NOT_FOUND' });
      assert.equal(audited.length, 0);
    });
  });
}
