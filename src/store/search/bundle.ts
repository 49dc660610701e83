/**
 * Builds the searchset Bundle as JSON text by concatenation: each entry's resource is the stored JSON text
 * as it is, never parsed and re-serialised. Paging links reproduce the accepted query.
 */
import type { SearchRequest, SearchResult } from './types.ts';

function link(relation: string, url: string): string {
  return `{"relation":${JSON.stringify(relation)},"url":${JSON.stringify(url)}}`;
}

function pageUrl(base: string, req: SearchRequest, offset: number): string {
  const q = new URLSearchParams(req.query.filter(([k]) => k !== '_count'));
  q.set('_count', String(req.count));
  if (offset > 0) q.set('_offset', String(offset));
  return `${base}/${req.resourceType}?${q.toString()}`;
}

/** An OperationOutcome listing what a lenient search ignored. */
function outcomeEntry(ignored: readonly string[]): string {
  const outcome = {
    resourceType: 'OperationOutcome',
    issue: ignored.map((p) => ({
      severity: 'warning',
      code: 'not-supported',
      diagnostics: `Search parameter ${p} was ignored (unknown or unsupported)`,
    })),
  };
  return `{"resource":${JSON.stringify(outcome)},"search":{"mode":"outcome"}}`;
}

export function buildSearchsetJson(result: SearchResult, req: SearchRequest, baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  const links = [link('self', pageUrl(base, req, req.offset))];
  if (!req.summaryCount) {
    links.push(link('first', pageUrl(base, req, 0)));
    if (req.offset > 0) links.push(link('previous', pageUrl(base, req, Math.max(0, req.offset - req.count))));
    if (result.hasMore) links.push(link('next', pageUrl(base, req, req.offset + req.count)));
  }
  const entries: string[] = [];
  for (const m of result.matches) {
    entries.push(
      `{"fullUrl":${JSON.stringify(`${base}/${m.resourceType}/${m.id}`)},"resource":${m.json},"search":{"mode":"match"}}`,
    );
  }
  for (const i of result.includes) {
    entries.push(
      `{"fullUrl":${JSON.stringify(`${base}/${i.resourceType}/${i.id}`)},"resource":${i.json},"search":{"mode":"include"}}`,
    );
  }
  if (req.ignored.length > 0) entries.push(outcomeEntry(req.ignored));
  let out = `{"resourceType":"Bundle","type":"searchset"`;
  if (result.total !== undefined) out += `,"total":${result.total}`;
  out += `,"link":[${links.join(',')}]`;
  if (entries.length > 0) out += `,"entry":[${entries.join(',')}]`;
  return `${out}}`;
}
