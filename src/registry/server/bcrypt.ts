// bcrypt verification for htpasswd files through libcrypt's crypt(3) (libxcrypt knows $2a$, $2b$,
// $2y$). Node has no bcrypt, and a hand-written Blowfish is more code to trust than one FFI call.
import koffi from 'koffi';
import { timingSafeEqual } from 'node:crypto';

let crypt: ((phrase: string, setting: string) => string | null) | undefined;

function cryptFn(): (phrase: string, setting: string) => string | null {
  if (!crypt) {
    const lib = koffi.load('libcrypt.so.1');
    crypt = lib.func('const char *crypt(const char *phrase, const char *setting)') as (phrase: string, setting: string) => string | null;
  }
  return crypt;
}

export function isBcryptHash(hash: string): boolean {
  return /^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash);
}

/** crypt(3) of `password` with `setting` (a full hash or a salt string); for tests and tools. */
export function cryptHash(password: string, setting: string): string {
  const out = cryptFn()(password, setting);
  if (!out || out.startsWith('*')) throw new Error('crypt(3) refused the setting');
  return out;
}

export function verifyBcrypt(password: string, hash: string): boolean {
  if (!isBcryptHash(hash)) return false;
  let computed: string;
  try {
    computed = cryptHash(password, hash);
  } catch {
    return false;
  }
  const a = Buffer.from(computed);
  const b = Buffer.from(hash);
  return a.length === b.length && timingSafeEqual(a, b);
}
