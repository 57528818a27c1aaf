// The embedded DNS server of a user network: UDP on the bridge's gateway address, port 53. It
// answers A queries for the names and aliases of containers on that network and relays every
// other query to the host's nameservers (/etc/resolv.conf), as Docker's resolver does.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { log } from '../lib/log.js';

export type Lookup = (name: string) => string[];

function hostNameservers(): string[] {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8').split('\n')
      .map((l) => /^\s*nameserver\s+([\d.]+)\s*$/.exec(l)?.[1]).filter((s): s is string => !!s && !s.startsWith('127.'));
  } catch {
    return [];
  }
}

/** The question's name, type and the offset just past the question, or undefined if malformed. */
function question(msg: Buffer): { name: string; type: number; end: number } | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i]!;
    if (len > 63 || i + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  if (i + 5 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1), end: i + 5 };
}

function answer(query: Buffer, end: number, ips: string[]): Buffer {
  const head = Buffer.from(query.subarray(0, end));
  head.writeUInt16BE(0x8180 | (query.readUInt16BE(2) & 0x0100), 2); // response, RD copied, RA
  head.writeUInt16BE(ips.length, 6);
  head.writeUInt32BE(0, 8);
  const records = ips.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(600, 6);
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((o, k) => rr.writeUInt8(Number(o), 12 + k));
    return rr;
  });
  return Buffer.concat([head, ...records]);
}

export class DnsServer {
  private sock?: dgram.Socket;

  constructor(private readonly address: string, private readonly lookup: Lookup) {}

  async start(): Promise<void> {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (msg, from) => this.handle(sock, msg, from));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(53, this.address, () => {
        sock.removeAllListeners('error');
        sock.on('error', (err) => log.warn('dns socket error', { error: err }));
        resolve();
      });
    });
    this.sock = sock;
  }

  private handle(sock: dgram.Socket, msg: Buffer, from: dgram.RemoteInfo): void {
    const q = question(msg);
    if (!q) return;
    const ips = this.lookup(q.name.replace(/\.$/, ''));
    if (ips.length) {
      // A name we own: its A records; other types get an empty answer (NOERROR), as Docker does.
      sock.send(answer(msg, q.end, q.type === 1 ? ips : []), from.port, from.address);
      return;
    }
    const upstream = hostNameservers()[0];
    if (!upstream) return;
    const relay = dgram.createSocket('udp4');
    const timer = setTimeout(() => relay.close(), 5000);
    relay.on('error', () => {});
    relay.on('message', (reply) => {
      clearTimeout(timer);
      sock.send(reply, from.port, from.address);
      relay.close();
    });
    relay.send(msg, 53, upstream);
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
  }
}
