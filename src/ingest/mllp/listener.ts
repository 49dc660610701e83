/**
 * The MLLP listener: a TCP (or TLS) server that frames each connection's bytes with `MllpDecoder`, hands
 * every message to the intake and writes the ACKs back in the order the messages arrived on that
 * connection. Idle connections are closed; an oversized frame is answered with AR and skipped.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { type AckCode, buildAck, sniffSubject } from '../hl7v2/ack.ts';
import { Hl7ErrorCode } from '../hl7v2/parse.ts';
import { frame, MllpDecoder } from './framing.ts';
import type { Hl7Intake, IntakeLog } from './intake.ts';

export interface MllpListenerOptions {
  host: string;
  port: number;
  /** Close a connection that has sent nothing for this long (ms). */
  idleTimeoutMs?: number;
  maxFrameBytes?: number;
  maxConnections?: number;
  /** PEM certificate and key: TLS instead of plain TCP. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  log?: IntakeLog;
  /** Called after each ACK is written (tests, metrics). */
  onAck?: (code: AckCode) => void;
}

export interface MllpListener {
  /** The port actually listened on (useful with port 0). */
  readonly port: number;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startMllpListener(intake: Hl7Intake, opts: MllpListenerOptions): Promise<MllpListener> {
  const idle = opts.idleTimeoutMs ?? 10 * 60 * 1000;
  const maxFrame = opts.maxFrameBytes ?? 16 * 1024 * 1024;
  const sockets = new Set<net.Socket>();

  const onConnection = (socket: net.Socket) => {
    sockets.add(socket);
    const connectionId = randomBytes(6).toString('hex');
    const remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const decoder = new MllpDecoder(maxFrame);
    // One connection's messages join the inbox (and the queue) in the order they arrived, and their ACKs
    // leave in that order; each message joins a group commit as soon as the one before it has, so one
    // connection's messages (a sender that does not wait for each ACK) and all connections share commits.
    let joined: Promise<unknown> = Promise.resolve();
    let acks: Promise<void> = Promise.resolve();
    const send = (work: () => Promise<{ result: Promise<{ ack: string; code: AckCode }> }>) => {
      const queued = joined.then(work);
      joined = queued.catch(() => undefined);
      acks = acks.then(async () => {
        try {
          const { ack, code } = await (await queued).result;
          if (!socket.destroyed) socket.write(frame(ack));
          opts.onAck?.(code);
        } catch (err) {
          opts.log?.warn({ connection: connectionId, error: err instanceof Error ? err.name : 'error' }, 'MLLP error');
          socket.destroy();
        }
      });
    };
    socket.setTimeout(idle, () => {
      opts.log?.info({ connection: connectionId }, 'MLLP connection idle: closed');
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      for (const ev of decoder.push(chunk)) {
        if (ev.kind === 'message') {
          send(() => intake.enqueue({ bytes: ev.bytes, remoteAddress, connectionId }));
        } else if (ev.kind === 'oversized') {
          const reason = `The message is larger than ${maxFrame} bytes`;
          send(async () => ({
            result: Promise.resolve({
              code: 'AR' as const,
              ack: buildAck(
                sniffSubject(''),
                'AR',
                { controlId: `ICR-${connectionId}-big` },
                {
                  reason,
                  code: Hl7ErrorCode.applicationError,
                },
              ),
            }),
          }));
        } else {
          opts.log?.info({ connection: connectionId, bytes: ev.bytes }, 'MLLP bytes outside a frame discarded');
        }
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  };

  const server: net.Server = opts.tls
    ? tls.createServer({ cert: opts.tls.cert, key: opts.tls.key }, onConnection)
    : net.createServer(onConnection);
  if (opts.maxConnections) server.maxConnections = opts.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  opts.log?.info({ port, tls: Boolean(opts.tls) }, 'MLLP listener started');
  return {
    port,
    get connections() {
      return sockets.size;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
