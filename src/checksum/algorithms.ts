// Public facade of the checksum module: S3 flexible checksums (CRC32, CRC32C, CRC64NVME,
// SHA1, SHA256), multipart composite / full-object values and a hashing pass-through.
// Wire values are base64 of the big-endian raw digest.

export {
  type ChecksumAlgorithm,
  type Hasher,
  checksumAlgorithms,
  parseChecksumAlgorithm,
  checksumHeaderName,
  xmlElementName,
  digestLength,
  isCrcAlgorithm,
  createHasher,
  computeChecksum,
  decodeChecksumValue,
  encodeChecksumValue,
} from './hashers.ts';
export { type CrcAlgorithm, combineCrc, combineCrc32Value } from './combine.ts';
export { type ChecksumType, parseChecksumType, compositeChecksum, fullObjectCrc } from './multipart.ts';
export { ChecksumTransform, checksumTransform } from './transform.ts';
export { crc32c } from './crc32c.ts';
export { crc64nvme, crc64nvmeUpdate, type Crc64Value } from './crc64nvme.ts';
