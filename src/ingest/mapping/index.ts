/**
 * HL7 v2 → FHIR R4: the mapping for a message's structure, one module per structure (docs/feeds.md has
 * the tables). A message type without a mapping yet is reported as such (kept in the inbox, never
 * silently dropped). Every mapped message carries its source event time (EVN-2, else MSH-7), which the
 * records service uses so that an older message never overwrites newer data. Pure, no I/O.
 */
import type { Hl7Message } from '../hl7v2/message.ts';
import { ADT_EVENTS, mapAdt } from './adt.ts';
import { type Hl7Merge, mapAdtMerge } from './adt-merge.ts';
import { type MappingContext, sourceEventTime } from './common.ts';
import { MDM_EVENTS, mapMdm } from './mdm.ts';
import { mapOruR01 } from './oru-r01.ts';
import type { Resource } from './patient.ts';
import { mapRde, mapRds } from './pharmacy.ts';
import { mapRef, REF_EVENTS } from './ref.ts';
import { mapSiu, SIU_EVENTS } from './siu.ts';

export type { MappingContext } from './common.ts';
export { MappingError } from './common.ts';
export type { Resource } from './patient.ts';
export type { Hl7Merge } from './adt-merge.ts';

export interface Mapped {
  resources: Resource[];
  /** A40: records to retire into surviving records (through the MPI's merge). */
  merges: Hl7Merge[];
  /** The source's time for the event (ISO), when the message gives one. */
  sourceTime: string | undefined;
}

export type MappingResult = Mapped | { unsupported: string };

const among = (list: readonly string[], event: string) => list.includes(event);

function mapResources(ctx: MappingContext, msg: Hl7Message): Resource[] | Omit<Mapped, 'sourceTime'> | undefined {
  const { messageCode: code, triggerEvent: event, structure } = msg.header;
  if (code === 'ADT' && event === 'A40') return mapAdtMerge(ctx, msg);
  if (code === 'ADT' && among(ADT_EVENTS, event)) return mapAdt(ctx, msg);
  if (code === 'ORU' && (event === 'R01' || event === '')) return mapOruR01(ctx, msg);
  if (code === 'MDM' && among(MDM_EVENTS, event)) return mapMdm(ctx, msg);
  if (code === 'SIU' && among(SIU_EVENTS, event)) return mapSiu(ctx, msg);
  if (code === 'REF' && among(REF_EVENTS, event)) return mapRef(ctx, msg);
  // RDE^O11 and RDE^O25 (refill authorisation) share the encoded-order structure.
  if (code === 'RDE' && (event === 'O11' || event === 'O25' || structure === 'RDE_O11')) return mapRde(ctx, msg);
  if (code === 'RDS' && event === 'O13') return mapRds(ctx, msg);
  return undefined;
}

export function mapMessage(ctx: MappingContext, msg: Hl7Message): MappingResult {
  const mapped = mapResources(ctx, msg);
  if (mapped === undefined) return { unsupported: `${msg.type} has no mapping yet` };
  const sourceTime = sourceEventTime(msg);
  return Array.isArray(mapped) ? { resources: mapped, merges: [], sourceTime } : { ...mapped, sourceTime };
}
