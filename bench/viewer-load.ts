/**
 * The summary bench's load generator (bench/viewer-bench.ts, `--generator worker`): a worker thread with its
 * own event loop that sends real HTTP requests (keep-alive, one connection per client) to the server
 * listening in the main thread, so the clients' work does not delay the server's responses on its event
 * loop, as it does when the requests are injected in-process. Each batch answers with every request's time
 * and this thread's CPU time (reported apart from the server's).
 */
import http from 'node:http';
import { parentPort } from 'node:worker_threads';

/** One batch: `total` GETs of `url` by `clients` concurrent clients. */
export interface LoadBatch {
  url: string;
  authorization: string;
  clients: number;
  total: number;
}

/** A batch's outcome: each request's milliseconds, and this thread's CPU seconds meanwhile. */
export interface LoadResult {
  times: number[];
  cpu: number;
  error?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function get(url: string, authorization: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { authorization } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 200) resolve();
        else reject(new Error(`${String(res.statusCode)} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function run(b: LoadBatch): Promise<LoadResult> {
  const cpu0 = process.threadCpuUsage();
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: b.clients }, async () => {
      while (next < b.total) {
        next += 1;
        const s = performance.now();
        await get(b.url, b.authorization);
        times.push(performance.now() - s);
      }
    }),
  );
  const cpu = process.threadCpuUsage(cpu0);
  return { times, cpu: (cpu.user + cpu.system) / 1e6 };
}

parentPort?.on('message', (b: LoadBatch | 'close') => {
  if (b === 'close') {
    agent.destroy();
    parentPort?.close();
    return;
  }
  run(b).then(
    (r) => parentPort?.postMessage(r),
    (err: unknown) => parentPort?.postMessage({ times: [], cpu: 0, error: String(err) } satisfies LoadResult),
  );
});
