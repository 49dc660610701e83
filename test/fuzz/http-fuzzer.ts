/**
 * The HTTP fuzzer: generated hostile requests against a live server (loopback only), a bounded number,
 * a few in flight. It reports every answer ≥ 500, every error on /fhir that is not an OperationOutcome,
 * every answer slower than 2 s, and every /healthz that took over 100 ms (polled beside the load), with the
 * server's own event-loop delay from /metrics.
 */
import { Worker } from 'node:worker_threads';
import net from 'node:net';
import fc from 'fast-check';
import { body, encode, hostileText, RESOURCE_TYPES, search } from './arbitraries.ts';

export interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Bytes sent as they are on a raw socket (framing and request-line faults fetch cannot make). */
  raw?: Buffer;
}

export interface Finding {
  kind: '5xx' | 'not-operation-outcome' | 'slow' | 'no-answer';
  status: number;
  ms: number;
  method: string;
  /** The request, cut to 300 characters. */
  request: string;
  answer: string;
}

export interface HttpFuzzReport {
  requests: number;
  seconds: number;
  byStatus: Record<string, number>;
  /** Refusals by their stable ICR_… code. */
  byCode: Record<string, number>;
  findings: Finding[];
  /** Requests the client itself could not send (fetch refuses some header values): not sent. */
  notSent: number;
  healthz: { polls: number; over100ms: number; maxMs: number };
  /** Largest `icr_event_loop_delay_seconds{quantile="max"}` the server reported, in ms. */
  eventLoopMaxMs: number;
}

const CONTENT_TYPES = [
  'application/fhir+json',
  'application/json',
  'application/fhir+json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  '',
];

const id = fc.oneof(
  fc.constantFrom('1', 'x', 'a'.repeat(64), 'a'.repeat(65), '..', '%00', '%2F', 'Patient', '$everything', '_history'),
  hostileText.map(encode),
);

/** Text bodies: JSON of a generated value, sometimes cut short or with bytes flipped; and its resourceType. */
const bodyText = fc.tuple(body, fc.nat({ max: 9 }), fc.nat()).map(([b, how, n]) => {
  const text = JSON.stringify(b) ?? 'null';
  const rt = (b as { resourceType?: unknown } | null)?.resourceType;
  const type = typeof rt === 'string' && /^[A-Za-z]+$/.test(rt) ? rt : 'Patient';
  if (how === 0) return { type, text: text.slice(0, n % Math.max(1, text.length)) };
  if (how === 1) return { type, text: `${text}}` };
  return { type, text };
});

const raw = fc.constantFrom(
  Buffer.concat([
    Buffer.from('GET /fhir/Patient?family=a'),
    Buffer.from([0xff, 0x00]),
    Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
  ]),
  Buffer.from(`GET /fhir/Patient?family=${'a'.repeat(17_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
  Buffer.from(
    'POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
  ),
  Buffer.from('POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}{}{}'),
  Buffer.from('GET /fhir/Patient HTTP/1.1\r\nHost x\r\n\r\n'),
  Buffer.from('GET /fhir/metadata HTTP/9.9\r\n\r\n'),
  Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'),
);

/** One generated request (the auth header is added by the runner). */
export const request: fc.Arbitrary<FuzzRequest> = fc.oneof(
  {
    weight: 30,
    arbitrary: search.map(({ type, query }) => ({
      method: 'GET' as const,
      path: `/fhir/${type}?${query}`,
      headers: {},
    })),
  },
  {
    weight: 8,
    arbitrary: search.map(({ type, query }) => ({
      method: 'POST' as const,
      path: `/fhir/${type}/_search`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: query,
    })),
  },
  {
    weight: 25,
    arbitrary: fc
      .tuple(bodyText, fc.constantFrom(...CONTENT_TYPES, 'application/fhir+json', 'application/fhir+json'))
      .map(([{ type, text }, ct]) => {
        const headers: Record<string, string> = {};
        if (ct) headers['content-type'] = ct;
        return { method: 'POST' as const, path: `/fhir/${type}`, headers, body: text };
      }),
  },
  {
    weight: 8,
    arbitrary: fc.tuple(id, bodyText).map(([i, { type, text }]) => ({
      method: 'PUT' as const,
      path: `/fhir/${type}/${i}`,
      headers: { 'content-type': 'application/fhir+json' },
      body: text,
    })),
  },
  {
    weight: 12,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...RESOURCE_TYPES, 'Claim', 'Foo', ''),
        id,
        fc.constantFrom('', '/_history', '/_history/1', '/_history/x', '/$everything', '/$ihe-pix'),
        fc.constantFrom(
          '',
          '?_since=9999-12-31T24:00:00Z',
          '?_since=2020-01-01',
          '?_count=-1',
          '?_format=xml',
          '?_count=100000',
        ),
      )
      .map(([type, i, tail, q]) => ({ method: 'GET' as const, path: `/fhir/${type}/${i}${tail}${q}`, headers: {} })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom(...RESOURCE_TYPES), id)
      .map(([type, i]) => ({ method: 'DELETE' as const, path: `/fhir/${type}/${i}`, headers: {} })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(search, fc.constantFrom('accept', 'prefer', 'if-match', 'if-none-exist', 'content-type'), hostileText)
      .map(([{ type, query }, h, v]) => ({
        method: 'GET' as const,
        path: `/fhir/${type}?${query}`,
        headers: { [h]: v },
      })),
  },
  { weight: 2, arbitrary: raw.map((bytes) => ({ method: 'GET' as const, path: '(raw)', headers: {}, raw: bytes })) },
);

function sendRaw(port: number, bytes: Buffer): Promise<{ status: number; text: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
        text: rest.join('\r\n\r\n'),
        contentType: /content-type: ([^\r\n]*)/i.exec(head)?.[1] ?? '',
      });
    });
    socket.setTimeout(10_000, () => socket.destroy());
    socket.end(bytes);
  });
}

/** The reason under a fetch failure: undici's `cause` code and message, or the error's name. */
function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause) return `${cause.code ?? ''} ${cause.message ?? ''}`.trim();
  return (e as Error).name;
}

function isOperationOutcome(text: string): boolean {
  try {
    return (JSON.parse(text) as { resourceType?: unknown }).resourceType === 'OperationOutcome';
  } catch {
    return false;
  }
}

function describeRequest(r: FuzzRequest): string {
  const headers = Object.entries(r.headers)
    .map(([k, v]) => ` [${k}: ${JSON.stringify(v)}]`)
    .join('');
  const text = r.raw
    ? JSON.stringify(r.raw.toString('latin1'))
    : `${r.method} ${r.path}${headers}${r.body ? ` ${r.body}` : ''}`;
  return text.slice(0, 300);
}

/** The /healthz poller's thread: polls every 50 ms until told to stop, then posts its figures. */
const HEALTHZ_POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
let running = true;
parentPort.once('message', () => { running = false; });
const h = { polls: 0, over100ms: 0, maxMs: 0 };
(async () => {
  while (running) {
    const t0 = performance.now();
    try { await (await fetch(workerData.url)).arrayBuffer(); } catch { /* a failed poll counts by its time */ }
    const ms = performance.now() - t0;
    h.polls++;
    h.maxMs = Math.max(h.maxMs, ms);
    if (ms > 100) h.over100ms++;
    await new Promise((r) => setTimeout(r, 50));
  }
  parentPort.postMessage(h);
})();
`;

export interface HttpFuzzOptions {
  baseUrl: string;
  authorization: string;
  requests: number;
  concurrency?: number;
  seed?: number;
  onProgress?: (done: number) => void;
}

export async function fuzzHttp(opts: HttpFuzzOptions): Promise<HttpFuzzReport> {
  const url = new URL(opts.baseUrl);
  const port = Number(url.port);
  const report: HttpFuzzReport = {
    requests: 0,
    seconds: 0,
    byStatus: {},
    byCode: {},
    findings: [],
    notSent: 0,
    healthz: { polls: 0, over100ms: 0, maxMs: 0 },
    eventLoopMaxMs: 0,
  };
  const finding = (f: Finding) => {
    if (report.findings.length < 200) report.findings.push(f);
  };
  let running = true;

  // /healthz beside the load, polled from a thread of its own: the fuzzer's main thread is busy generating
  // requests and reading answers, and a poll timed there would count the fuzzer's own delays as the server's.
  const poller = new Worker(HEALTHZ_POLLER, { eval: true, workerData: { url: `${opts.baseUrl}/healthz` } });
  const healthz = new Promise<void>((resolve, reject) => {
    poller.once('message', (h: HttpFuzzReport['healthz']) => {
      report.healthz = h;
      resolve();
    });
    poller.once('error', reject);
  });
  const metrics = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, 1000));
      try {
        const text = await (await fetch(`${opts.baseUrl}/metrics`)).text();
        const m = /icr_event_loop_delay_seconds\{quantile="max"\} ([0-9.e+-]+)/.exec(text);
        if (m) report.eventLoopMaxMs = Math.max(report.eventLoopMaxMs, Number(m[1]) * 1000);
      } catch {
        /* the next scrape will tell */
      }
    }
  })();

  const batch = 1000;
  const t0 = performance.now();
  let next = 0;
  let inFlight = 0;
  let samples: FuzzRequest[] = [];
  let sampleIndex = 0;
  // Stops when `requests` have been sent (answered or not), not merely generated: requests the client
  // itself refuses to send (an invalid header value) are counted apart and replaced.
  const take = (): FuzzRequest | undefined => {
    if (report.requests + inFlight >= opts.requests) return undefined;
    if (sampleIndex >= samples.length) {
      samples = fc.sample(request, { numRuns: batch, seed: (opts.seed ?? 1) + next });
      sampleIndex = 0;
    }
    next++;
    return samples[sampleIndex++];
  };

  async function one(r: FuzzRequest): Promise<void> {
    const start = performance.now();
    let status: number;
    let text: string;
    let contentType: string;
    try {
      if (r.raw) {
        ({ status, text, contentType } = await sendRaw(port, r.raw));
      } else {
        const res = await fetch(`${opts.baseUrl}${r.path}`, {
          method: r.method,
          headers: { authorization: opts.authorization, ...r.headers },
          ...(r.body === undefined ? {} : { body: r.body }),
          signal: AbortSignal.timeout(30_000),
        });
        status = res.status;
        contentType = res.headers.get('content-type') ?? '';
        text = await res.text();
      }
    } catch (e) {
      const name = (e as Error).name;
      // An invalid URL or header value: the client refused to send it (undici says "fetch failed" with
      // the cause UND_ERR_INVALID_ARG for a header value; that, reported as "no answer", was the "3
      // unanswered requests" of the first run — searches with a hostile header, never sent).
      const refusedByClient =
        (name === 'TypeError' && !/fetch failed/.test((e as Error).message)) ||
        causeOf(e).startsWith('UND_ERR_INVALID_ARG');
      if (refusedByClient) {
        report.notSent++;
        return;
      }
      finding({
        kind: 'no-answer',
        status: 0,
        ms: performance.now() - start,
        method: r.method,
        request: describeRequest(r),
        // The socket-level reason (ECONNRESET, UND_ERR_SOCKET, a timeout) tells a dropped connection
        // from a slow server.
        answer: `${String(e)} (${causeOf(e)})`.slice(0, 300),
      });
      report.requests++;
      return;
    }
    const ms = performance.now() - start;
    report.requests++;
    report.byStatus[String(status)] = (report.byStatus[String(status)] ?? 0) + 1;
    const code = status >= 400 ? /"urn:openicr:error-code","code":"(ICR_[A-Z_]+)"/.exec(text)?.[1] : undefined;
    if (code) report.byCode[code] = (report.byCode[code] ?? 0) + 1;
    const common = { status, ms, method: r.method, request: describeRequest(r), answer: text.slice(0, 300) };
    if (status >= 500 || status === 0) finding({ kind: '5xx', ...common });
    else if (
      status >= 400 &&
      (r.raw || r.path.startsWith('/fhir')) &&
      !(isOperationOutcome(text) && /fhir\+json/.test(contentType))
    ) {
      finding({ kind: 'not-operation-outcome', ...common });
    }
    if (ms > 2000) finding({ kind: 'slow', ...common });
  }

  const workers = Array.from({ length: opts.concurrency ?? 6 }, async () => {
    for (let r = take(); r !== undefined; r = take()) {
      inFlight++;
      await one(r).finally(() => inFlight--);
      if (report.requests % 5000 === 0) opts.onProgress?.(report.requests);
    }
  });
  await Promise.all(workers);
  report.seconds = (performance.now() - t0) / 1000;
  running = false;
  poller.postMessage('stop');
  await Promise.all([healthz, metrics]);
  await poller.terminate();
  return report;
}
