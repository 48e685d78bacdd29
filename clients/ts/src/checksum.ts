/**
 * The book checksum of the protocol: CRC-32 (IEEE 802.3, zlib's `crc32`) of
 * the top 10 bids then the top 10 asks, each level `price:qty` with the wire
 * strings, levels joined by `,`, the two sides joined by `|`.
 */

import type { Level } from "./protocol.js";

/** How many levels per side the checksum covers. */
export const CHECKSUM_DEPTH = 10;

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

const encoder = new TextEncoder();

/** CRC-32 of `text`'s UTF-8 bytes, as an unsigned 32-bit number. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) {
      ascii = false;
      break;
    }
    crc = (TABLE[(crc ^ c) & 0xff] as number) ^ (crc >>> 8);
  }
  if (!ascii) {
    crc = 0xffffffff;
    for (const byte of encoder.encode(text)) {
      crc = (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
    }
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * The string the checksum is computed over, from the best levels of each
 * side (best first, as a snapshot lists them).
 */
export function checksumString(bids: readonly Level[], asks: readonly Level[]): string {
  const side = (levels: readonly Level[]) =>
    levels
      .slice(0, CHECKSUM_DEPTH)
      .map(([price, qty]) => `${price}:${qty}`)
      .join(",");
  return `${side(bids)}|${side(asks)}`;
}

/** The checksum of a book whose best levels are `bids` and `asks`. */
export function bookChecksum(bids: readonly Level[], asks: readonly Level[]): number {
  return crc32(checksumString(bids, asks));
}
