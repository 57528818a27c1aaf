// `berth registry serve|gc`: the registry as its own program (bundled to dist/registry.js), so the
// CLI loads it only when asked and it never imports the daemon.
import { parseArgs } from 'node:util';
import { HtpasswdAuthorizer, TokenAuthorizer, type Authorizer } from './auth.js';
import { collectGarbage } from './gc.js';
import { RegistryServer } from './server.js';
import { RegistryStorage } from './storage.js';

const USAGE = `
Usage:  berth registry COMMAND

Run an OCI distribution registry

Commands:
  serve       Serve a registry: --addr HOST:PORT --root DIR [--htpasswd FILE]
              [--token-realm URL --token-service NAME --token-issuer NAME --token-cert FILE]
              [--tls-cert FILE --tls-key FILE] [--max-uploads N] [--read-only]
  gc          Delete blobs no manifest references and uploads abandoned for
              --upload-max-age HOURS (default 168): --root DIR [--dry-run]
`;

function splitAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`invalid --addr ${JSON.stringify(addr)}: expected HOST:PORT`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      addr: { type: 'string', default: '0.0.0.0:5000' },
      root: { type: 'string' },
      htpasswd: { type: 'string' },
      'token-realm': { type: 'string' },
      'token-service': { type: 'string' },
      'token-issuer': { type: 'string' },
      'token-cert': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'max-uploads': { type: 'string' },
      'read-only': { type: 'boolean', default: false },
    },
  });
  if (!values.root) throw new Error('--root is required');
  let authorizer: Authorizer | undefined;
  if (values.htpasswd) authorizer = new HtpasswdAuthorizer(values.htpasswd);
  if (values['token-realm'] || values['token-cert']) {
    if (authorizer) throw new Error('--htpasswd and --token-* are exclusive');
    const realm = values['token-realm'];
    const service = values['token-service'];
    const issuer = values['token-issuer'];
    const certFile = values['token-cert'];
    if (!realm || !service || !issuer || !certFile) throw new Error('token auth needs --token-realm, --token-service, --token-issuer and --token-cert');
    authorizer = new TokenAuthorizer({ realm, service, issuer, certFile });
  }
  if (!!values['tls-cert'] !== !!values['tls-key']) throw new Error('--tls-cert and --tls-key go together');
  const tls = values['tls-cert'] ? { cert: values['tls-cert'], key: values['tls-key']! } : undefined;
  const maxOpenUploads = values['max-uploads'] === undefined ? undefined : Number(values['max-uploads']);
  if (maxOpenUploads !== undefined && !(Number.isInteger(maxOpenUploads) && maxOpenUploads > 0)) throw new Error('--max-uploads must be a positive integer');
  const server = new RegistryServer({ root: values.root, authorizer, tls, maxOpenUploads, readOnly: values['read-only'], log: (l) => process.stderr.write(`${l}\n`) });
  const { host, port } = splitAddr(values.addr!);
  const address = await server.listen(host, port);
  // Tests and scripts read this line to learn the port when --addr asked for port 0.
  process.stdout.write(`listening on ${address.address}:${address.port}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

async function gc(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { root: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, 'upload-max-age': { type: 'string' } },
  });
  if (!values.root) throw new Error('--root is required');
  let uploadMaxAgeMs: number | undefined;
  if (values['upload-max-age'] !== undefined) {
    const hours = Number(values['upload-max-age']);
    if (!(hours >= 0)) throw new Error('--upload-max-age takes hours (a number >= 0)');
    uploadMaxAgeMs = hours * 3600 * 1000;
  }
  const result = await collectGarbage(new RegistryStorage(values.root), { dryRun: values['dry-run'], uploadMaxAgeMs, log: (l) => process.stdout.write(`${l}\n`) });
  const verb = values['dry-run'] ? 'eligible for deletion' : 'deleted';
  process.stdout.write(`${result.marked} blobs marked, ${result.deleted.length} blobs ${verb} (${result.freedBytes} bytes), ${result.purgedUploads} abandoned uploads ${verb}\n`);
  return 0;
}

export async function runRegistryCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'serve') return await serve(rest);
    if (sub === 'gc') return await gc(rest);
  } catch (err) {
    process.stderr.write(`berth registry ${sub}: ${(err as Error).message}\n`);
    return 125;
  }
  if (sub === undefined || sub === '--help' || sub === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stderr.write(`berth registry: unknown command ${JSON.stringify(sub)}\n${USAGE}`);
  return 1;
}
