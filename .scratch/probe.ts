import net from 'node:net';
import Client, { Message } from 'node-hl7-client';
const server = net.createServer((s) => {
  s.on('data', (d) => {
    console.log('server got', JSON.stringify(d.toString()));
    s.write(Buffer.concat([Buffer.of(0x0b), Buffer.from('MSH|^~\\&|A|B|C|D|2026||ACK^A01^ACK|X1|P|2.4\rMSA|AA|M1'), Buffer.of(0x1c, 0x0d)]));
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as net.AddressInfo).port;
const client = new Client({ host: '127.0.0.1', version: '2.4' } as never);
let done!: () => void;
const got = new Promise<void>((r) => (done = r));
const conn = client.createConnection({ port, waitAck: true } as never, async (res: any) => {
  console.log('ack', res.getMessage().get('MSA.1').toString(), res.getMessage().get('MSA.2').toString());
  done();
});
await conn.sendMessage(new Message({ text: 'MSH|^~\\&|PAS|RX1|ICR|ICR|20260101||ADT^A01|M1|P|2.4\rPID|1||123' }));
await got;
await conn.close();
server.close();
