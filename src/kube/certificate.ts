// The admin listener's TLS certificate. kubectl sends a bearer token only over HTTPS (client-go
// leaves the Authorization header off on plain http://, checked with every pinned client), so
// the Kubernetes API needs TLS. The operator's certificate (--tls-cert/--tls-key) is used when
// configured; otherwise a self-signed one is made at the first start and kept in the data root
// (admin-tls.pem, owner-only), and `strata kubeconfig` embeds it as the
// cluster's certificate-authority-data.
//
// The certificate is written here in DER, by hand, because Node can sign but not build X.509:
//   1. an ECDSA P-256 key pair (node:crypto);
//   2. TBSCertificate: version 3, a random 126-bit serial, ecdsa-with-SHA256, issuer = subject =
//      CN=strata-admin, valid from one hour ago for ten years, the public key (SPKI from Node),
//      and extensions: basicConstraints CA:TRUE (critical), keyUsage digitalSignature+keyCertSign
//      (critical), extKeyUsage serverAuth, subjectAltName (localhost, 127.0.0.1, ::1, the host name);
//   3. Certificate = TBSCertificate, the algorithm again, and the DER ECDSA signature of step 2.
// Go's verifier (kubectl) accepts it as its own root: self-signed, a CA, names in the SAN.
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { OWNER_FILE_MODE } from '../store/file-modes.ts';

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const seq = (...items: Buffer[]) => der(0x30, Buffer.concat(items));

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a * 40 + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

function utcTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return der(0x17, Buffer.from(s, 'ascii'));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail = ''] = ip.split('::');
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  const groups = [...parts(head), ...Array(8 - parts(head).length - parts(tail).length).fill('0'), ...parts(tail)];
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), der(0x04, value));
}

/**
 * A DER INTEGER serial from 16 random bytes: positive (high bit clear) and minimal (first byte not
 * zero: a leading 0x00 before a byte below 0x80 is "illegal padding" to OpenSSL, which then refuses
 * the certificate; with a zero first byte allowed that happened once in about 256 starts).
 */
export function certificateSerial(random: Buffer): Buffer {
  const serial = Buffer.from(random);
  serial[0] = (serial[0] & 0x7f) | 0x40;
  return serial;
}

/** A self-signed P-256 certificate (PEM) and its key (PKCS#8 PEM) for these host names and addresses. */
export function selfSignedCertificate(names: string[]): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const algorithm = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from('strata-admin')))));
  const serial = certificateSerial(randomBytes(16));
  const now = Date.now();
  const san = names.map((n) => (isIP(n) ? der(0x87, ipBytes(n)) : der(0x82, Buffer.from(n, 'ascii'))));
  const extensions = der(
    0xa3,
    seq(
      extension('2.5.29.19', true, seq(der(0x01, Buffer.from([0xff])))),
      extension('2.5.29.15', true, der(0x03, Buffer.from([0x02, 0x84]))),
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
      extension('2.5.29.17', false, seq(...san)),
    ),
  );
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))),
    der(0x02, serial),
    algorithm,
    name,
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 10 * 365 * 86400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const cert = seq(tbs, algorithm, der(0x03, Buffer.concat([Buffer.from([0x00]), signature])));
  const pem = `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  return { cert: pem, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

export interface AdminTls {
  cert: string;
  key: string;
}

/** The self-signed pair, key then certificate, in one file of the data root. */
export const adminTlsFile = 'admin-tls.pem';

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/;

function checkedPair(cert: string, key: string, where: string): AdminTls {
  if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) throw new Error(`${where}: the certificate does not belong to the key`);
  return { cert, key };
}

function readPair(path: string): AdminTls {
  const text = readFileSync(path, 'utf8');
  const cert = certificateBlock.exec(text)?.[0];
  if (!cert) throw new Error(`${path} holds no certificate; remove it to have a new one made`);
  return checkedPair(cert, text.replace(certificateBlock, ''), path);
}

/**
 * The admin listener's certificate and key: the operator's (tlsCert/tlsKey files) when given,
 * else the data root's self-signed pair. Made at the first start, in one file created
 * exclusively (written aside, then hard-linked into place): nodes starting together on a shared
 * data root all end up with the one pair that won.
 */
export function adminTls(config: { dataDir: string; tlsCert?: string; tlsKey?: string; adminHost: string }): AdminTls {
  if (config.tlsCert && config.tlsKey) return checkedPair(readFileSync(config.tlsCert, 'utf8'), readFileSync(config.tlsKey, 'utf8'), config.tlsCert);
  const path = join(config.dataDir, adminTlsFile);
  if (existsSync(path)) return readPair(path);
  const names = [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...(/^(0\.0\.0\.0|::)$/.test(config.adminHost) ? [] : [config.adminHost])])];
  const made = selfSignedCertificate(names);
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(aside, made.key + made.cert, { mode: OWNER_FILE_MODE, flag: 'wx' });
  try {
    linkSync(aside, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(aside);
  }
  return readPair(path);
}

/** The data root's admin certificate (for a kubeconfig's certificate-authority-data), if there is one. */
export function storedAdminCertificate(dataDir: string): string | undefined {
  const path = join(dataDir, adminTlsFile);
  return existsSync(path) ? readPair(path).cert : undefined;
}
