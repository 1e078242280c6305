import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/*
 * A self-signed X.509 certificate made in the test itself, standing in for the certificate Amazon SNS signs
 * with. Node can read certificates (X509Certificate) but not make them, and a committed fixture would carry a
 * private key and expire; so the few DER structures of RFC 5280 that a certificate needs are encoded here.
 */

const DAY_MS = 86_400_000;
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const COMMON_NAME = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
const sequence = (...parts: Buffer[]) => tlv(0x30, ...parts);
/** A positive INTEGER from big-endian bytes whose first byte is not 0 (DER wants the shortest form). */
const integer = (bytes: Buffer) =>
  tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
const derNull = Buffer.from([0x05, 0x00]);
const bitString = (bytes: Buffer) => tlv(0x03, Buffer.from([0]), bytes);

function objectId(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128: number[] = [];
    for (let value = arc; ; value = Math.floor(value / 128)) {
      base128.unshift((value % 128) | (base128.length ? 0x80 : 0));
      if (value < 128) break;
    }
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime, YYMMDDHHMMSSZ (dates before 2050, as RFC 5280 wants for UTCTime). */
const utcTime = (at: Date) =>
  tlv(0x17, Buffer.from(at.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z', 'ascii'));

const name = (commonName: string) =>
  sequence(tlv(0x31, sequence(objectId(COMMON_NAME), tlv(0x0c, Buffer.from(commonName, 'utf8')))));

export interface SelfSignedCertificate {
  /** The certificate, PEM-encoded, as SNS serves it at its SigningCertURL. */
  pem: string;
  /** The key that signs messages the certificate verifies. */
  privateKey: KeyObject;
}

/** The subjectAltName extension naming one IPv4 address, which TLS clients check an address they dial against. */
function ipAddressExtension(ipv4: string): Buffer {
  const address = Buffer.from(ipv4.split('.').map(Number));
  const names = sequence(tlv(0x87, address)); // GeneralNames: one [7] iPAddress
  return tlv(0xa3, sequence(sequence(objectId(SUBJECT_ALT_NAME), tlv(0x04, names))));
}

/**
 * A fresh RSA key and a self-signed certificate for it, valid from a day ago for `validDays` days; with
 * `ipAddress`, it is valid for a TLS server at that IPv4 address too.
 */
export function selfSignedCertificate(
  commonName = 'sns.test',
  validDays = 2,
  ipAddress?: string,
): SelfSignedCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const algorithm = sequence(objectId(SHA256_WITH_RSA), derNull);
  const notBefore = new Date(Date.now() - DAY_MS);
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))), // version 3
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(8)])), // serial number
    algorithm,
    name(commonName),
    sequence(utcTime(notBefore), utcTime(new Date(notBefore.getTime() + validDays * DAY_MS))),
    name(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
    ...(ipAddress ? [ipAddressExtension(ipAddress)] : []),
  );
  const der = sequence(tbs, algorithm, bitString(sign('sha256', tbs, privateKey)));
  const base64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return {
    pem: `-----BEGIN CERTIFICATE-----\n${base64.trimEnd()}\n-----END CERTIFICATE-----\n`,
    privateKey,
  };
}
