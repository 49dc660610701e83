/**
 * The HL7 v2 message types beyond ADT and ORU, through the real feed path (intake → inbox → queue job →
 * records service → store, MPI and audit): A40 merges through the MPI (audited, never over a steward's
 * decision), Encounter location history across transfers, an older message arriving after a newer one
 * (it never overwrites newer data), and the sample MDM, SIU, REF, RDE and RDS messages stored as FHIR.
 * PGlite, and PostgreSQL when configured.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sniffSubject } from '../src/ingest/hl7v2/ack.ts';
import { decodeHl7, parseMessages } from '../src/ingest/hl7v2/parse.ts';
import { hl7v2JobHandler } from '../src/ingest/jobs/hl7v2-job.ts';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { Worker } from '../src/queue/worker.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { HL7_QUEUE } from '../src/store/feed-store.ts';
import { testDatabases } from './helpers/db.ts';
import { STORED } from './helpers/hl7-samples.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const DATA = path.resolve(import.meta.dirname, '../../shared/data/hl7v2');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- reads stored FHIR JSON freely
type Json = any;

/** An ADT message of the test PAS: event time `evn` (EVN-2), patient `mrn`, visit V-<mrn>. */
const adt = (
  event: string,
  control: string,
  o: {
    mrn: string;
    evn: string;
    family?: string;
    ward?: string;
    prior?: string;
    discharged?: string;
    extra?: string[];
  },
) =>
  [
    `MSH|^~\\&|PAS|RX1|ICR|ICR|${o.evn}||ADT^${event}|${control}|P|2.4`,
    `EVN|${event}|${o.evn}`,
    `PID|1||${o.mrn}^^^RX1^MR||${o.family ?? 'SMITH'}^ANNA^^^MRS||19800101|F|||1 High St^^Exeter^^EX1 1AA`,
    `PV1|1|I|${o.ward ?? 'WARD A'}^^^RX1|||${o.prior ? `${o.prior}^^^RX1` : ''}||||MED|||||||||V-${o.mrn}^^^RX1|||||||||||||||||||||||||20260301100000|${o.discharged ?? ''}`,
    ...(o.extra ?? []),
  ].join('\r');

for (const which of testDatabases) {
  describe(`HL7 v2 message types and order (${which})`, () => {
    let t: TestApp;
    let feeds: FeedService;
    let intake: Hl7Intake;
    let worker: Worker;
    const send = async (text: string) => {
      const r = await intake.handle({ bytes: Buffer.from(text), remoteAddress: 'test', connectionId: 'c1' });
      assert.equal(r.code, 'AA', r.ack);
      return r.messageId ?? 0;
    };
    const inbox = async (id: number) =>
      (
        await t.t.db.query<{ status: string; error: string | null }>(
          'select status, error from feed_message where id = $1',
          [id],
        )
      ).rows[0];
    const stored = async (type: string, where = `feed_id = 'rx1-pas'`) =>
      (
        await t.t.db.query<{ id: string; content: string; version_id: number }>(
          `select id, content, version_id from resource where resource_type = $1 and ${where} order by id`,
          [type],
        )
      ).rows.map((r) => ({ ...JSON.parse(r.content), versionId: r.version_id }));
    const patientByMrn = async (mrn: string) =>
      (await stored('Patient')).find((p: Json) => p.identifier.some((i: Json) => i.value === mrn));

    before(async () => {
      t = await openTestApp(which);
      feeds = new FeedService({ db: t.t.db });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX1', name: 'Exeter Acute', kind: 'acute' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'rx1-pas', org: 'RX1', protocol: 'mllp', sendingFacility: 'RX1' });
      for (const facility of ['GHHSFacility', 'XYZHOSPITAL', 'SFAC']) {
        await feeds.addFeed(SYSTEM_ACTOR, {
          id: `ms-${facility}`,
          org: 'RX1',
          protocol: 'mllp',
          sendingFacility: facility,
        });
      }
      intake = new Hl7Intake(feeds);
      worker = new Worker(t.t.db, {
        queue: HL7_QUEUE,
        handler: hl7v2JobHandler({ records: t.records, feeds }),
        backoffSeconds: () => 0,
      });
    });
    after(async () => {
      await worker.close();
      await t.close();
    });

    it('an admission, a discharge and then a late transfer: the newer data stays, the history gains the stay', async () => {
      const ids = [
        await send(adt('A01', 'O-1', { mrn: 'H100', evn: '20260301100000', ward: 'WARD A' })),
        await send(
          adt('A03', 'O-2', {
            mrn: 'H100',
            evn: '20260302180000',
            family: 'SMITH-JONES',
            ward: 'WARD B',
            discharged: '20260302180000',
          }),
        ),
        // Sent before the discharge, delivered after it: an old surname and the move from ward A to B.
        await send(adt('A02', 'O-3', { mrn: 'H100', evn: '20260301140000', ward: 'WARD B', prior: 'WARD A' })),
      ];
      await worker.drain();
      for (const id of ids) assert.equal((await inbox(id))?.status, 'processed');
      const patient = await patientByMrn('H100');
      assert.equal(patient.name[0].family, 'SMITH-JONES', 'the late message did not overwrite the newer surname');
      assert.equal(patient.versionId, 2, 'A01, then A03; the late A02 wrote no Patient version');
      const [enc] = (await stored('Encounter')).filter((e: Json) => e.subject.reference === `Patient/${patient.id}`);
      assert.equal(enc.status, 'finished', 'the late transfer did not reopen the stay');
      assert.equal(enc.period.end, '2026-03-02T18:00:00+00:00');
      assert.deepEqual(
        enc.location.map((l: Json) => [l.location.display, l.period?.start, l.period?.end, l.status]),
        [
          ['WARD A RX1', '2026-03-01T10:00:00+00:00', '2026-03-01T14:00:00+00:00', 'completed'],
          ['WARD B RX1', '2026-03-01T14:00:00+00:00', '2026-03-02T18:00:00+00:00', 'completed'],
        ],
      );
      const times = await t.t.db.query<{ source_time: string | Date }>(
        `select source_time from feed_source_time where resource_type = 'Patient' and id = $1`,
        [patient.id],
      );
      assert.equal(new Date(times.rows[0]?.source_time ?? 0).toISOString(), '2026-03-02T18:00:00.000Z');
      // The episode of care (PV1-10 hospital service) follows the Encounter.
      const [episode] = (await stored('EpisodeOfCare')).filter(
        (e: Json) => e.patient.reference === `Patient/${patient.id}`,
      );
      assert.equal(episode.status, 'finished');
      assert.deepEqual(enc.episodeOfCare, [{ reference: `EpisodeOfCare/${episode.id}` }]);
    });

    it('transfers in order build the location history stay by stay', async () => {
      await send(adt('A01', 'T-1', { mrn: 'H200', evn: '20260301100000', ward: 'WARD A' }));
      await send(adt('A02', 'T-2', { mrn: 'H200', evn: '20260301120000', ward: 'WARD B', prior: 'WARD A' }));
      await send(adt('A02', 'T-3', { mrn: 'H200', evn: '20260301150000', ward: 'WARD C', prior: 'WARD B' }));
      await worker.drain();
      const patient = await patientByMrn('H200');
      const [enc] = (await stored('Encounter')).filter((e: Json) => e.subject.reference === `Patient/${patient.id}`);
      assert.equal(enc.status, 'in-progress');
      assert.deepEqual(
        enc.location.map((l: Json) => [l.location.display, l.period?.end === undefined, l.status]),
        [
          ['WARD A RX1', false, 'completed'],
          ['WARD B RX1', false, 'completed'],
          ['WARD C RX1', true, 'active'],
        ],
      );
    });

    it('an A12 cancels a transfer: the patient is back in the previous ward, the cancelled stay is gone', async () => {
      await send(adt('A01', 'X-1', { mrn: 'H210', evn: '20260301100000', ward: 'WARD A' }));
      await send(adt('A02', 'X-2', { mrn: 'H210', evn: '20260301120000', ward: 'WARD B', prior: 'WARD A' }));
      await send(adt('A12', 'X-3', { mrn: 'H210', evn: '20260301123000', ward: 'WARD A', prior: 'WARD B' }));
      await worker.drain();
      const patient = await patientByMrn('H210');
      const [enc] = (await stored('Encounter')).filter((e: Json) => e.subject.reference === `Patient/${patient.id}`);
      assert.equal(enc.status, 'in-progress');
      assert.deepEqual(
        enc.location.map((l: Json) => [l.location.display, l.period?.start, l.period?.end, l.status]),
        [['WARD A RX1', '2026-03-01T10:00:00+00:00', undefined, 'active']],
      );
      assert.ok(!JSON.stringify(enc).includes('transfer-cancelled'), 'the marker is never stored');
    });

    it('an A40 merges the retired record into the survivor through the MPI, audited', async () => {
      await send(adt('A01', 'M-1', { mrn: 'H300', evn: '20260301100000', family: 'OLDRECORD' }));
      await send(adt('A01', 'M-2', { mrn: 'H301', evn: '20260301110000', family: 'NEWRECORD' }));
      await worker.drain();
      const retiredBefore = await patientByMrn('H300');
      const survivor = await patientByMrn('H301');
      const merge = await send(
        [
          'MSH|^~\\&|PAS|RX1|ICR|ICR|20260301120000||ADT^A40^ADT_A39|M-3|P|2.4',
          'EVN|A40|20260301120000',
          'PID|1||H301^^^RX1^MR||NEWRECORD^ANNA||19800101|F',
          'MRG|H300^^^RX1^MR',
        ].join('\r'),
      );
      await worker.drain();
      assert.deepEqual(await inbox(merge), { status: 'processed', error: null });
      const retired = await patientByMrn('H300');
      assert.equal(retired.id, retiredBefore.id);
      assert.equal(retired.active, false);
      assert.equal(retired.name[0].family, 'OLDRECORD', 'what was stored of the retired record is kept');
      assert.deepEqual(retired.link, [{ other: { reference: `Patient/${survivor.id}` }, type: 'replaced-by' }]);
      const links = await t.t.db.query<{ patient_id: string; person_id: string; retired_into: string | null }>(
        'select patient_id, person_id, retired_into from person_link where patient_id = any($1::text[]) order by patient_id',
        [[retired.id, survivor.id]],
      );
      const byId = new Map(links.rows.map((r) => [r.patient_id, r]));
      assert.equal(byId.get(retired.id)?.retired_into, survivor.id);
      assert.equal(byId.get(retired.id)?.person_id, byId.get(survivor.id)?.person_id, 'one person now');
      const audit = await t.t.db.query<{ outcome: string; actor_id: string; channel: string }>(
        `select outcome, actor_id, channel from audit_entry where action = 'mpi-merge' and what like $1`,
        [`Patient/${retired.id}%`],
      );
      assert.deepEqual(audit.rows, [{ outcome: 'allowed', actor_id: 'feed:rx1-pas', channel: 'mllp' }]);
    });

    it('an A40 against a data steward’s “not the same person” fails with the reason, kept for replay', async () => {
      await send(adt('A01', 'V-1', { mrn: 'H400', evn: '20260301100000', family: 'FIRSTPERSON' }));
      await send(adt('A01', 'V-2', { mrn: 'H401', evn: '20260301100000', family: 'SECONDPERSON' }));
      await worker.drain();
      const a = await patientByMrn('H400');
      const b = await patientByMrn('H401');
      await t.records.mpiNotSame(SYSTEM_ACTOR, a.id, b.id, 'checked with the patient');
      const merge = await send(
        [
          'MSH|^~\\&|PAS|RX1|ICR|ICR|20260301120000||ADT^A40|V-3|P|2.4',
          'PID|1||H401^^^RX1^MR',
          'MRG|H400^^^RX1^MR',
        ].join('\r'),
      );
      await worker.drain();
      const row = await inbox(merge);
      assert.equal(row?.status, 'failed');
      assert.match(row?.error ?? '', /merge refused by the MPI \(ICR_CONFLICT\): A data steward decided/);
      const links = await t.t.db.query<{ retired_into: string | null }>(
        'select retired_into from person_link where patient_id = $1',
        [a.id],
      );
      assert.equal(links.rows[0]?.retired_into, null, 'not merged');
      assert.ok(
        (await feeds.failed(SYSTEM_ACTOR, 'rx1-pas')).some((m) => m.id === merge),
        'listed for replay',
      );
    });

    it(
      'the sample MDM, SIU, REF, RDE and RDS messages are stored as FHIR with the feed provenance',
      { skip: !existsSync(DATA) },
      async () => {
        const files = [
          'MDM_T02__ms-fhir-converter__simhospital-uk-v23.hl7',
          'SIU_S12__ms-fhir-converter__new-appointment-v28.hl7',
          'SIU_S15__ms-fhir-converter__cancel-appointment-v28.hl7',
          'REF_I12__ms-fhir-converter__referral-v28.hl7',
          'RDE_O11__ms-fhir-converter__pharmacy-order-v28.hl7',
          'RDS_O13__ms-fhir-converter__dispense-v28.hl7',
        ];
        for (const f of files) {
          // Each sample has its own control id except where two share one; send each under a fresh one.
          const text = readFileSync(path.join(DATA, f), 'utf8').replace(
            /^(MSH(?:\|[^|\n]*){8}\|)([^|\n]*)/,
            `$1${f.slice(0, 20)}`,
          );
          const id = await send(text);
          await worker.drain();
          assert.deepEqual(await inbox(id), { status: 'processed', error: null }, f);
        }
        const facility = `feed_id = 'ms-GHHSFacility'`;
        const [doc] = await stored('DocumentReference', `feed_id = 'ms-SFAC'`);
        assert.match(
          Buffer.from(doc.content[0].attachment.data, 'base64').toString('utf8'),
          /^Toilet cylinder crackers/,
        );
        assert.equal(doc.author[0].display, 'Dr Kathleen Woolfson');
        const appointments = await stored('Appointment', facility);
        assert.equal(appointments.length, 1, 'S15 cancelled the appointment S12 booked');
        assert.equal(appointments[0].status, 'cancelled');
        assert.equal(appointments[0].versionId, 2);
        assert.equal((await stored('ServiceRequest', facility))[0]?.intent, 'order');
        const [request] = await stored('MedicationRequest', facility);
        const [dispense] = await stored('MedicationDispense', facility);
        assert.equal(request.status, 'active');
        assert.equal(dispense.status, 'completed');
        // Searchable through the records service like any other data.
        const json = await t.records.search(SYSTEM_ACTOR, 'Appointment', new URLSearchParams({ status: 'cancelled' }), {
          baseUrl: 'http://x',
        });
        assert.equal((JSON.parse(json) as { entry?: unknown[] }).entry?.length, 1);
      },
    );

    it(
      'every sample file gets the right ACK, and each message ends as the mapping table says',
      { skip: !existsSync(DATA) },
      async () => {
        const senders = new Map<string, string>();
        const sent: Array<{ file: string; n: number; id: number; expected: string }> = [];
        for (const file of readdirSync(DATA).filter((f) => f.endsWith('.hl7'))) {
          const bytes = readFileSync(path.join(DATA, file));
          const expected = STORED[file] ?? [];
          let text: string;
          try {
            text = decodeHl7(bytes);
          } catch {
            const r = await intake.handle({ bytes, remoteAddress: 'test', connectionId: 'samples' });
            assert.notEqual(r.code, 'AA', `${file}: refused`);
            continue;
          }
          for (const [n, r] of parseMessages(text).entries()) {
            if (!r.message) {
              const res = await intake.handle({
                bytes: Buffer.from(r.text),
                remoteAddress: 'test',
                connectionId: 'samples',
              });
              assert.notEqual(res.code, 'AA', `${file} message ${n + 1}: refused`);
              assert.equal(expected[n], 'refused', `${file} message ${n + 1}`);
              continue;
            }
            // A feed for each sender (MSH-4, else MSH-3); a fresh control id, since some samples share one.
            // As the intake reads MSH-3/MSH-4 (escapes kept: one sample's facility is "DNACPR \T\ CPR").
            const { sendingFacility: facility, sendingApplication: application } = sniffSubject(r.text);
            if (!facility && !application) {
              // No MSH-3 nor MSH-4 (four samples): no feed can be recognised, so the sender is told (AR).
              const res = await intake.handle({
                bytes: Buffer.from(r.text),
                remoteAddress: 'test',
                connectionId: 'samples',
              });
              assert.equal(res.code, 'AR', file);
              assert.match(res.ack, /Unknown sender/, file);
              continue;
            }
            const key = facility || `app:${application}`;
            if (!senders.has(key)) {
              const id = `sample-${senders.size + 1}`;
              senders.set(key, id);
              await feeds.addFeed(SYSTEM_ACTOR, {
                id,
                org: 'RX1',
                protocol: 'mllp',
                ...(facility ? { sendingFacility: facility } : { sendingApplication: application }),
              });
            }
            const sep = r.text.charAt(3);
            const eol = r.text.search(/[\r\n]/);
            const msh = r.text.slice(0, eol < 0 ? undefined : eol).split(sep);
            msh[9] = `S${sent.length + 1}`;
            const again = msh.join(sep) + (eol < 0 ? '' : r.text.slice(eol));
            const res = await intake.handle({
              bytes: Buffer.from(again),
              remoteAddress: 'test',
              connectionId: 'samples',
            });
            assert.equal(res.code, 'AA', `${file} message ${n + 1}: ${res.ack}`);
            sent.push({ file, n, id: res.messageId ?? 0, expected: expected[n] ?? '(none)' });
          }
        }
        await worker.drain();
        for (const m of sent) {
          const row = await inbox(m.id);
          const what = `${m.file} message ${m.n + 1} (${m.expected})`;
          if (m.expected === 'ignored') {
            assert.equal(row?.status, 'processed', what);
            assert.match(row?.error ?? '', /has no mapping yet/, what);
          } else if (m.expected === 'mapping error') {
            assert.equal(row?.status, 'failed', what);
            assert.match(row?.error ?? '', /^mapping /, what);
          } else {
            assert.deepEqual(row, { status: 'processed', error: null }, what);
          }
        }
        assert.ok(sent.length >= 90, `${sent.length} messages sent`);
      },
    );
  });
}
