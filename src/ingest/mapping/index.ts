/**
 * HL7 v2 → FHIR R4: the mapping for a message's structure, one module per structure (docs/feeds.md has
 * the tables). A message type without a mapping yet is reported as such (kept in the inbox, never
 * silently dropped). Pure, no I/O.
 */
import type { Hl7Message } from '../hl7v2/message.ts';
import { ADT_EVENTS, mapAdt } from './adt.ts';
import type { MappingContext } from './common.ts';
import { mapOruR01 } from './oru-r01.ts';
import type { Resource } from './patient.ts';

export type { MappingContext } from './common.ts';
export { MappingError } from './common.ts';
export type { Resource } from './patient.ts';

export type MappingResult = { resources: Resource[] } | { unsupported: string };

export function mapMessage(ctx: MappingContext, msg: Hl7Message): MappingResult {
  const { messageCode, triggerEvent } = msg.header;
  if (messageCode === 'ADT' && (ADT_EVENTS as readonly string[]).includes(triggerEvent)) {
    return { resources: mapAdt(ctx, msg) };
  }
  if (messageCode === 'ORU' && (triggerEvent === 'R01' || triggerEvent === '')) {
    return { resources: mapOruR01(ctx, msg) };
  }
  return { unsupported: `${msg.type} has no mapping yet` };
}
