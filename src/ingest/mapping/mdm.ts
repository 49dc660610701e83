/**
 * MDM^T02 (original document notification and content; also T04, T06, T08, T10 with the same
 * structure) → a DocumentReference whose content is the document itself: OBX TX/FT/ST lines joined as
 * text/plain, or an OBX ED (base64, e.g. a PDF) as its own media type, inline as an attachment. The
 * document's author (TXA-9 originator, else TXA-5, else EVN-5) and organisation (the feed's, as custodian)
 * are kept. The id comes from the unique document number (TXA-12), so an edit (T08) replaces it. Pure.
 */
import type { Hl7Message, Hl7Segment } from '../hl7v2/message.ts';
import { encounterIdOf } from './adt.ts';
import {
  base64Text,
  codeable,
  feedOrganisation,
  hl7DateTime,
  localSystem,
  MappingError,
  type MappingContext,
  personReference,
  stableId,
} from './common.ts';
import { mapPatient, type Resource } from './patient.ts';

export const MDM_EVENTS = ['T02', 'T04', 'T06', 'T08', 'T10'] as const;

/** TXA-17 document completion status (HL7 table 0271) → DocumentReference.docStatus. */
function docStatus(raw: string): string | undefined {
  switch (raw.toUpperCase()) {
    case 'AU':
    case 'LA':
    case 'DO':
      return 'final';
    case 'IP':
    case 'IN':
    case 'PA':
    case 'DI':
      return 'preliminary';
    default:
      return undefined;
  }
}

/** TXA-19 availability (table 0273) and TXA-17: a cancelled or obsolete document is superseded / in error. */
function status(txa: Hl7Segment): string {
  const availability = txa.get(19).toUpperCase();
  if (availability === 'CA' || availability === 'OB') return 'superseded';
  if (txa.get(17).toUpperCase() === 'CA') return 'entered-in-error';
  return 'current';
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

function contentOf(msg: Hl7Message, txa: Hl7Segment): Array<Record<string, unknown>> {
  const obxs = msg.all('OBX').filter((o) => o.position > txa.position);
  const content: Array<Record<string, unknown>> = [];
  const lines: string[] = [];
  for (const obx of obxs) {
    const type = obx.get(2).toUpperCase();
    if (type === 'TX' || type === 'FT' || type === 'ST') {
      for (const v of obx.reps(5)) lines.push(v.text());
    } else if (type === 'ED') {
      const ed = obx.value(5);
      const data = ed.c(5).replace(/\s+/g, '');
      const encoding = ed.c(4).toUpperCase();
      const [major, minor] = [ed.c(2).toLowerCase(), ed.c(3).toLowerCase()];
      const media = major === 'application' || major === 'text' || major === 'image' ? major : 'application';
      const contentType = `${media}/${minor || (media === 'text' ? 'plain' : 'octet-stream')}`;
      const title = (obx.value(3).c(2) || obx.value(3).c(1)).trim();
      if (!data) {
        // The document is announced without its bytes: the reference says so (type and title, no data).
        content.push({ attachment: { contentType, ...(title ? { title } : {}) } });
        continue;
      }
      if (encoding !== 'BASE64' || !BASE64.test(data) || data.length % 4 !== 0) {
        throw new MappingError(`OBX (segment ${obx.position}): OBX-5 ED data is not valid base64`);
      }
      content.push({ attachment: { contentType, data, ...(title ? { title } : {}) } });
    } else if (type === 'HD' || type === 'RP') {
      // A pointer to the document held elsewhere (a DICOM study uid, a reference pointer).
      const ptr = obx.value(5).c(1).trim();
      const title = (obx.value(3).c(2) || obx.value(3).c(1)).trim();
      const url = /^[0-2](\.(0|[1-9][0-9]*))+$/.test(ptr) ? `urn:oid:${ptr}` : /^https?:\/\/\S+$/.test(ptr) ? ptr : '';
      if (url) content.push({ attachment: { url, ...(title ? { title } : {}) } });
    }
  }
  const text = lines.join('\n').trim();
  if (text) content.unshift({ attachment: { contentType: 'text/plain; charset=utf-8', data: base64Text(text) } });
  return content;
}

export function mapMdm(ctx: MappingContext, msg: Hl7Message): Resource[] {
  const event = msg.header.triggerEvent;
  const pid = msg.segment('PID');
  if (!pid) throw new MappingError(`MDM^${event} has no PID segment`);
  const txa = msg.segment('TXA');
  if (!txa) throw new MappingError(`MDM^${event} has no TXA segment`);
  const patient = mapPatient(ctx, msg, pid);
  const content = contentOf(msg, txa);
  if (content.length === 0) throw new MappingError(`MDM^${event} carries no document content (OBX TX, FT, ST or ED)`);
  const docNumber = txa.value(12);
  const key = docNumber.isEmpty
    ? `${txa.get(14) || txa.get(15)}|${msg.header.controlId}`
    : `${docNumber.c(2)}|${docNumber.c(1)}`;
  const type = codeable(ctx, txa.value(2)) ?? { text: 'Document' };
  const doc: Record<string, unknown> = {
    resourceType: 'DocumentReference',
    id: stableId(ctx, 'DocumentReference', key),
    status: status(txa),
    type,
    subject: { reference: `Patient/${patient.id}` },
    custodian: feedOrganisation(ctx),
    content,
  };
  if (!docNumber.isEmpty) {
    doc.masterIdentifier = {
      system: localSystem(ctx, `document-${docNumber.c(2) || 'number'}`),
      value: docNumber.c(1),
    };
  }
  const ds = docStatus(txa.get(17));
  if (ds) doc.docStatus = ds;
  const when = hl7DateTime(txa.get(6)) ?? hl7DateTime(txa.get(4));
  if (when && when.length > 10) doc.date = when;
  const author =
    personReference(ctx, txa.value(9)) ??
    personReference(ctx, txa.value(5)) ??
    personReference(ctx, msg.segment('EVN')?.value(5));
  doc.author = author ? [author, feedOrganisation(ctx)] : [feedOrganisation(ctx)];
  const authenticator = personReference(ctx, txa.value(22));
  if (authenticator) doc.authenticator = authenticator;
  const pv1 = msg.segment('PV1');
  const activity = hl7DateTime(txa.get(4));
  const context: Record<string, unknown> = {};
  if (pv1 && !pv1.value(19).isEmpty)
    context.encounter = [{ reference: `Encounter/${encounterIdOf(ctx, pv1, patient.id)}` }];
  if (activity) context.period = { start: activity };
  if (Object.keys(context).length > 0) doc.context = context;
  return [patient, doc as Resource];
}
