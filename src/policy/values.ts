// Value parsers shared by policy parsing (strict, once per policy) and evaluation (once per
// request value). Pure functions; no allocation on the hot paths beyond what parsing needs.

// ---------------------------------------------------------------------------------------------
// Numbers

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A decimal number (integer or fraction, optional exponent), or NaN. */
export function parseNumber(s: string): number {
  return NUMBER_RE.test(s) ? Number(s) : Number.NaN;
}

// ---------------------------------------------------------------------------------------------
// Dates: ISO-8601 (W3C profile, as IAM documents) or epoch seconds. Result: epoch milliseconds.

const EPOCH_RE = /^[+-]?\d+(?:\.\d+)?$/;
const ISO_RE =
  /^(\d{4})-(\d{2})(?:-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?)?$/;

/**
 * Epoch milliseconds for an ISO-8601 date/date-time or an epoch-seconds number; NaN if neither.
 * A date-time without a zone designator is read as UTC (never as server-local time). All-digit
 * strings are epoch seconds: "2024" is 2024 s after the epoch, not the year 2024.
 */
export function parseDate(s: string): number {
  if (EPOCH_RE.test(s)) return Number(s) * 1000;
  const m = ISO_RE.exec(s);
  if (m === null) return Number.NaN;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = m[3] === undefined ? 1 : +m[3];
  const hour = m[4] === undefined ? 0 : +m[4];
  const minute = m[5] === undefined ? 0 : +m[5];
  const second = m[6] === undefined ? 0 : +m[6];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return Number.NaN;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return Number.NaN;
  let ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  if (m[7] !== undefined) ms += Math.floor(Number(`0.${m[7]}`) * 1000);
  if (m[9] !== undefined) {
    const oh = +m[10]!;
    const om = +m[11]!;
    if (oh > 23 || om > 59) return Number.NaN;
    const offset = (oh * 60 + om) * 60_000;
    ms += m[9] === '+' ? -offset : offset;
  }
  return ms;
}

// One-entry cache: a request's aws:CurrentTime is usually compared by several conditions.
let lastDateInput = '';
let lastDateValue = Number.NaN;

export function parseDateCached(s: string): number {
  if (s === lastDateInput) return lastDateValue;
  const v = parseDate(s);
  lastDateInput = s;
  lastDateValue = v;
  return v;
}

// ---------------------------------------------------------------------------------------------
// IP addresses and CIDR blocks.
// An address is either IPv4 (one uint32) or IPv6 (four uint32 words, most significant first).
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack Node socket reports for IPv4
// clients) are converted to IPv4 so that IPv4 CIDRs match them.

export type IpAddr = { readonly v6: false; readonly v4: number } | { readonly v6: true; readonly w: Uint32Array };

export interface Cidr {
  readonly v6: boolean;
  /** IPv4: network in w[0]; IPv6: four words. Host bits are already cleared. */
  readonly net: Uint32Array;
  readonly mask: Uint32Array;
  readonly prefix: number;
}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

function parseV4(s: string): number | undefined {
  const m = V4_RE.exec(s);
  if (m === null) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    if (part.length > 1 && part[0] === '0') return undefined; // no octal-looking octets
    const n = +part;
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v >>> 0;
}

function parseV6Groups(s: string): number[] | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === '') return [];
    const items = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (allowV4Tail && i === items.length - 1 && item.includes('.')) {
        const v4 = parseV4(item);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (HEX_GROUP_RE.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  if (halves.length === 1) {
    const g = toGroups(halves[0]!, true);
    return g !== undefined && g.length === 8 ? g : undefined;
  }
  const head = toGroups(halves[0]!, false);
  const tail = toGroups(halves[1]!, true);
  if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function isV4Mapped(w: Uint32Array): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

/** Parse an IPv4 or IPv6 address; a zone id (`%eth0`) is ignored. Undefined if invalid. */
export function parseIp(s: string): IpAddr | undefined {
  const v4 = parseV4(s);
  if (v4 !== undefined) return { v6: false, v4 };
  if (!s.includes(':')) return undefined;
  const pct = s.indexOf('%');
  const groups = parseV6Groups(pct >= 0 ? s.slice(0, pct) : s);
  if (groups === undefined) return undefined;
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  if (isV4Mapped(w)) return { v6: false, v4: w[3]! };
  return { v6: true, w };
}

let lastIpInput = '';
let lastIpValue: IpAddr | undefined;

export function parseIpCached(s: string): IpAddr | undefined {
  if (s === lastIpInput) return lastIpValue;
  const v = parseIp(s);
  lastIpInput = s;
  lastIpValue = v;
  return v;
}

function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Parse a CIDR block (`10.0.0.0/8`, `2001:db8::/32`) or a bare address (which gets /32 or /128,
 * as IAM documents). Host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`). A zone id is refused.
 * An IPv4-mapped IPv6 block with a prefix of at least 96 becomes the equivalent IPv4 block.
 */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  const addrText = slash >= 0 ? s.slice(0, slash) : s;
  const prefixText = slash >= 0 ? s.slice(slash + 1) : undefined;
  if (addrText.includes('%')) return undefined;
  const addr = parseIp(addrText);
  if (addr === undefined) return undefined;
  let v6 = addr.v6;
  let maxPrefix = v6 ? 128 : 32;
  let prefix = maxPrefix;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return undefined;
    prefix = +prefixText;
  }
  // parseIp already turned a mapped address into IPv4; the prefix was written for IPv6.
  if (!addr.v6 && addrText.includes(':')) {
    if (prefixText === undefined) prefix = 128;
    if (prefix > 128) return undefined;
    if (prefix < 96) {
      // A block wider than ::ffff:0:0/96 is not expressible in IPv4; keep it as IPv6.
      v6 = true;
      maxPrefix = 128;
    } else {
      prefix -= 96;
    }
  }
  if (prefix > maxPrefix) return undefined;
  const net = new Uint32Array(v6 ? 4 : 1);
  const mask = new Uint32Array(v6 ? 4 : 1);
  if (v6) {
    const w = addr.v6 ? addr.w : Uint32Array.of(0, 0, 0xffff, addr.v4);
    for (let i = 0; i < 4; i++) {
      mask[i] = maskWord(prefix - 32 * i);
      net[i] = (w[i]! & mask[i]!) >>> 0;
    }
  } else {
    mask[0] = maskWord(prefix);
    net[0] = ((addr as { v4: number }).v4 & mask[0]!) >>> 0;
  }
  return { v6, net, mask, prefix };
}

export function cidrContains(c: Cidr, ip: IpAddr): boolean {
  if (!ip.v6) {
    if (c.v6) {
      // IPv4 client against an IPv6 block: compare as ::ffff:a.b.c.d.
      return c.net[0] === (0 & c.mask[0]!) && c.net[1] === (0 & c.mask[1]!)
        && c.net[2] === ((0xffff & c.mask[2]!) >>> 0) && c.net[3] === ((ip.v4 & c.mask[3]!) >>> 0);
    }
    return ((ip.v4 & c.mask[0]!) >>> 0) === c.net[0];
  }
  if (!c.v6) return false;
  const w = ip.w;
  return ((w[0]! & c.mask[0]!) >>> 0) === c.net[0] && ((w[1]! & c.mask[1]!) >>> 0) === c.net[1]
    && ((w[2]! & c.mask[2]!) >>> 0) === c.net[2] && ((w[3]! & c.mask[3]!) >>> 0) === c.net[3];
}

// ---------------------------------------------------------------------------------------------
// Base64 (BinaryEquals)

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Canonical base64 of a base64 string (so that equal bytes compare equal), or undefined. */
export function canonicalBase64(s: string): string | undefined {
  if (!BASE64_RE.test(s)) return undefined;
  return Buffer.from(s, 'base64').toString('base64');
}
