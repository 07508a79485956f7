/**
 * Addresses the coordinator never connects to, whatever the targets file says: this machine
 * (loopback, "this host"), link-local, and cloud metadata services. Checked on the name as given
 * and again on every address DNS returns for it, so a name that resolves (or rebinds) to one of
 * them is refused too.
 */
import { isIP } from 'node:net';

type Cidr = { bytes: Uint8Array; prefix: number };

const V4_FORBIDDEN: readonly Cidr[] = [
  cidr4([0, 0, 0, 0], 8), // "this host"; 0.0.0.0 reaches local listeners on Linux
  cidr4([127, 0, 0, 0], 8), // loopback
  cidr4([169, 254, 0, 0], 16), // link-local, includes 169.254.169.254 (AWS, GCP, Azure, DO metadata)
  cidr4([100, 100, 100, 200], 32), // Alibaba Cloud metadata
];

const V6_FORBIDDEN: readonly Cidr[] = [
  { bytes: bytes6('::'), prefix: 128 }, // unspecified
  { bytes: bytes6('::1'), prefix: 128 }, // loopback
  { bytes: bytes6('fe80::'), prefix: 10 }, // link-local
  { bytes: bytes6('fd00:ec2::254'), prefix: 128 }, // AWS metadata over IPv6
];

/** Prefixes that carry an IPv4 address in their last 32 bits; the embedded address is checked. */
const V6_EMBEDDING_V4: readonly Cidr[] = [
  { bytes: bytes6('::ffff:0:0'), prefix: 96 }, // IPv4-mapped
  { bytes: bytes6('::'), prefix: 96 }, // IPv4-compatible (deprecated, still routed by some stacks)
  { bytes: bytes6('64:ff9b::'), prefix: 96 }, // NAT64 well-known prefix
];

const FORBIDDEN_NAMES = new Set([
  'localhost',
  'localhost.localdomain',
  'ip6-localhost',
  'ip6-loopback',
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** True when `host` (a name or an IP literal, as typed) must never be connected to. */
export function isForbiddenHost(host: string): boolean {
  const name = host.trim().toLowerCase().replace(/\.$/, '');
  if (name === '' || FORBIDDEN_NAMES.has(name) || name.endsWith('.localhost')) return true;
  const unbracketed = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (isIP(stripZone(unbracketed)) !== 0) return isForbiddenAddress(unbracketed);
  return false;
}

/** True when the IP literal `address` is loopback, link-local, "this host" or a metadata address. */
export function isForbiddenAddress(address: string): boolean {
  const bare = stripZone(address);
  const family = isIP(bare);
  // Anything that is not a clean IP literal is refused: this runs on resolver output.
  if (family === 0) return true;
  if (family === 4) return matchesAny(bytes4(bare), V4_FORBIDDEN);
  const b = bytes6(bare);
  if (matchesAny(b, V6_FORBIDDEN)) return true;
  for (const prefix of V6_EMBEDDING_V4) {
    if (matches(b, prefix) && matchesAny(b.subarray(12), V4_FORBIDDEN)) return true;
  }
  return false;
}

function stripZone(address: string): string {
  const i = address.indexOf('%');
  return i === -1 ? address : address.slice(0, i);
}

function matchesAny(address: Uint8Array, list: readonly Cidr[]): boolean {
  return list.some((c) => c.bytes.length === address.length && matches(address, c));
}

function matches(address: Uint8Array, { bytes, prefix }: Cidr): boolean {
  let bits = prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((address[i] ?? 0) & mask) !== ((bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

function cidr4(octets: [number, number, number, number], prefix: number): Cidr {
  return { bytes: Uint8Array.from(octets), prefix };
}

function bytes4(address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map((o) => Number.parseInt(o, 10)));
}

/** 16 bytes of a valid IPv6 literal (`isIP(address) === 6`), including `::` and dotted tails. */
function bytes6(address: string): Uint8Array {
  const out = new Uint8Array(16);
  const [headText = '', tailText] = address.split('::');
  const words = (text: string): number[] => {
    if (text === '') return [];
    return text.split(':').flatMap((part) => {
      if (part.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = bytes4(part);
        return [(a << 8) | b, (c << 8) | d];
      }
      return [Number.parseInt(part, 16)];
    });
  };
  const head = words(headText);
  const tail = tailText === undefined ? [] : words(tailText);
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  all.forEach((w, i) => {
    out[i * 2] = (w >> 8) & 0xff;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}
