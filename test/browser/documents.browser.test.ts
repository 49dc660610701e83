/**
 * Journey: documents in the page — a clinic letter as text, a PDF held in the DocumentReference and a PDF held
 * as a Binary the DocumentReference points to (synthetic PDFs made here with pdfkit). The PDFs are served
 * by the viewer's document route into the page; each open is an audited read through the records service.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import PDFDocument from 'pdfkit';
import { SYSTEM_ACTOR } from '../../src/shared/actor.ts';
import { browserDatabases, checkA11y, screenshot, startViewer, type ViewerHarness } from './harness.ts';

/** A one-page synthetic PDF letter. */
async function pdfLetter(title: string, text: string): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: title, Creator: 'OpenICR tests' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    doc.on('error', reject);
  });
  doc.fontSize(16).text(title).moveDown().fontSize(11).text(text);
  doc.end();
  return done;
}

for (const db of browserDatabases) {
  describe(`documents: a text letter and PDFs shown in the page, each open audited (${db})`, () => {
    let h: ViewerHarness;
    let id: string;
    let inlinePdf: Buffer;
    let binaryPdf: Buffer;
    before(async () => {
      h = await startViewer({ db });
      id = await h.patientIdFor('9990000018');
      inlinePdf = await pdfLetter('Outpatient clinic letter', 'Synthetic letter: seen in the falls clinic.');
      binaryPdf = await pdfLetter('Radiology report', 'Synthetic report: no fracture seen.');
      const subject = { reference: `Patient/${id}` };
      const docType = (text: string) => ({ text });
      await h.ta.records.update(SYSTEM_ACTOR, {
        resourceType: 'DocumentReference',
        id: 'doc-letter-text',
        status: 'current',
        type: docType('Letter'),
        subject,
        date: '2026-11-20T10:00:00Z',
        description: 'GP letter to the falls clinic',
        content: [
          {
            attachment: {
              contentType: 'text/plain',
              data: Buffer.from('Dear colleague, please see this person about recurrent falls.', 'utf8').toString(
                'base64',
              ),
            },
          },
        ],
      });
      await h.ta.records.update(SYSTEM_ACTOR, {
        resourceType: 'DocumentReference',
        id: 'doc-letter-pdf',
        status: 'current',
        type: docType('Clinic letter'),
        subject,
        date: '2026-11-25T10:00:00Z',
        description: 'Falls clinic letter (PDF)',
        content: [{ attachment: { contentType: 'application/pdf', data: inlinePdf.toString('base64') } }],
      });
      await h.ta.records.update(SYSTEM_ACTOR, {
        resourceType: 'Binary',
        id: 'bin-xray-report',
        contentType: 'application/pdf',
        securityContext: subject,
        data: binaryPdf.toString('base64'),
      });
      await h.ta.records.update(SYSTEM_ACTOR, {
        resourceType: 'DocumentReference',
        id: 'doc-xray-pdf',
        status: 'current',
        type: docType('Radiology report'),
        subject,
        date: '2026-11-26T10:00:00Z',
        description: 'Hip X-ray report (PDF)',
        content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/bin-xray-report' } }],
      });
    });
    after(async () => {
      await h.close();
    });

    it('shows the text letter and both PDFs in the page; the PDFs are the documents sent', async () => {
      const page = await h.newPage();
      await h.signIn(page, 'gp-a81001');
      const served = new Map<string, number>();
      page.on('response', (r) => {
        const m = /\/documents\/([^/]+)\/pdf$/.exec(r.url());
        if (m?.[1]) served.set(m[1], r.status());
      });
      await page.goto(`/patient/${id}/documents`);
      const letter = page.getByTestId('document').filter({ hasText: 'GP letter to the falls clinic' });
      assert.match(await letter.innerText(), /please see this person about recurrent falls/);
      for (const [docId, title] of [
        ['doc-letter-pdf', 'Falls clinic letter (PDF)'],
        ['doc-xray-pdf', 'Hip X-ray report (PDF)'],
      ] as const) {
        const card = page.getByTestId('document').filter({ hasText: title });
        const frame = card.locator('iframe.icr-document-pdf');
        assert.equal(await frame.getAttribute('src'), `/patient/${id}/documents/${docId}/pdf`);
        assert.equal(await frame.getAttribute('title'), `${title} (PDF)`);
      }
      // The frames loaded the PDFs from the document route.
      for (let i = 0; i < 50 && served.size < 2; i++) await page.waitForTimeout(100);
      assert.equal(served.get('doc-letter-pdf'), 200);
      assert.equal(served.get('doc-xray-pdf'), 200);
      // The bytes are the PDFs as sent (the same session as the page).
      const a = await page.request.get(`/patient/${id}/documents/doc-letter-pdf/pdf`);
      assert.equal(a.headers()['content-type'], 'application/pdf');
      assert.deepEqual(Buffer.from(await a.body()), inlinePdf);
      const b = await page.request.get(`/patient/${id}/documents/doc-xray-pdf/pdf`);
      assert.deepEqual(Buffer.from(await b.body()), binaryPdf);
      // A document without a PDF answers not found, not an error page.
      const none = await page.request.get(`/patient/${id}/documents/doc-letter-text/pdf`);
      assert.equal(none.status(), 404);
      await checkA11y(page);
      await screenshot(page, 'documents-pdf');
    });

    it('each open of a document is audited as the user’s read, on the viewer channel', async () => {
      const res = await h.ta.t.db.query<{ what: string; action: string; outcome: string; channel: string }>(
        `select what, action, outcome, channel from audit_entry
          where actor_id = 'gp-a81001' and what in ('DocumentReference/doc-letter-pdf', 'Binary/bin-xray-report',
                'DocumentReference/doc-xray-pdf', 'DocumentReference/doc-letter-text')
          order by seq`,
      );
      const opened = res.rows.map((r) => `${r.action} ${r.what} ${r.outcome} ${r.channel}`);
      for (const what of [
        'DocumentReference/doc-letter-pdf',
        'DocumentReference/doc-xray-pdf',
        'Binary/bin-xray-report',
      ]) {
        assert.ok(opened.includes(`read ${what} allowed viewer`), `${what} opened: ${opened.join('; ')}`);
      }
      // An admin and clerical user (no documents in their role) is refused the document, and that is audited.
      const page = await h.newPage();
      await h.signIn(page, 'admin-clerk');
      const refused = await page.request.get(`/patient/${id}/documents/doc-letter-pdf/pdf`);
      assert.ok([403, 404].includes(refused.status()), `status ${String(refused.status())}`);
      assert.notEqual(refused.headers()['content-type'], 'application/pdf');
      const after = await h.ta.t.db.query<{ outcome: string }>(
        `select outcome from audit_entry where actor_id = 'admin-clerk' and what = 'DocumentReference/doc-letter-pdf'`,
      );
      assert.deepEqual(
        after.rows.map((r) => r.outcome),
        ['refused'],
      );
    });
  });
}
