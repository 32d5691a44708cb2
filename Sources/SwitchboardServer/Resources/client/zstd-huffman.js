// Huffman-coded literals for the zstd decoder (RFC 8878 sections 4.2 and 3.1.1.3.1).
import { BackwardBitReader, ZstdError } from "./zstd-bits.js";
import { readFSETable } from "./zstd-fse.js";

const MAX_BITS = 11;

/**
 * A lookup table indexed by the next maxBits bits: each entry is symbol | (bits << 8).
 * @typedef {{ maxBits: number, entries: Uint16Array }} HuffmanTable
 */

/**
 * Reads a Huffman tree description and builds its lookup table.
 * @param {Uint8Array} src
 * @param {number} start
 * @param {number} end
 * @returns {{ table: HuffmanTable, size: number }} size: bytes the description took
 */
export function readHuffmanTable(src, start, end) {
  if (start >= end) throw new ZstdError("truncated Huffman tree description");
  const header = src[start];
  const weights = new Uint8Array(256);
  let count;
  let size;
  if (header < 128) {
    size = 1 + header;
    if (start + size > end) throw new ZstdError("truncated Huffman weights");
    count = decodeFSEWeights(src, start + 1, start + size, weights);
  } else {
    count = header - 127;
    size = 1 + ((count + 1) >> 1);
    if (start + size > end) throw new ZstdError("truncated Huffman weights");
    for (let i = 0; i < count; i++) {
      const byte = src[start + 1 + (i >> 1)];
      weights[i] = i & 1 ? byte & 15 : byte >> 4;
    }
  }
  return { table: buildHuffmanTable(weights, count), size };
}

/**
 * Weights compressed with FSE: two interleaved states over one backward stream.
 * @param {Uint8Array} src
 * @param {number} start
 * @param {number} end
 * @param {Uint8Array} weights receives the weights
 * @returns {number} how many weights were decoded
 */
function decodeFSEWeights(src, start, end, weights) {
  const { table, size } = readFSETable(src, start, end, 15, 6);
  const reader = new BackwardBitReader(src, start + size, end);
  const { symbol, nbBits, newState, accuracyLog } = table;
  let s1 = reader.read(accuracyLog);
  let s2 = reader.read(accuracyLog);
  let n = 0;
  for (;;) {
    if (n > 253) throw new ZstdError("too many Huffman weights");
    weights[n++] = symbol[s1];
    s1 = newState[s1] + reader.read(nbBits[s1]);
    if (reader.bits < 0) {
      weights[n++] = symbol[s2];
      break;
    }
    weights[n++] = symbol[s2];
    s2 = newState[s2] + reader.read(nbBits[s2]);
    if (reader.bits < 0) {
      weights[n++] = symbol[s1];
      break;
    }
  }
  return n;
}

/**
 * Builds the lookup table from the listed weights; the last symbol's weight is implied.
 * @param {Uint8Array} weights
 * @param {number} count
 * @returns {HuffmanTable}
 */
function buildHuffmanTable(weights, count) {
  if (count > 255) throw new ZstdError("too many Huffman weights");
  let total = 0;
  for (let i = 0; i < count; i++) {
    const w = weights[i];
    if (w > MAX_BITS) throw new ZstdError(`Huffman weight ${w} too large`);
    if (w > 0) total += 1 << (w - 1);
  }
  if (total === 0) throw new ZstdError("Huffman weights are all zero");
  const maxBits = 32 - Math.clz32(total);
  if (maxBits > MAX_BITS) throw new ZstdError("Huffman code too long");
  const rest = (1 << maxBits) - total;
  if (rest & (rest - 1)) throw new ZstdError("Huffman weights do not add up");
  weights[count] = 32 - Math.clz32(rest);
  const symbols = count + 1;
  const rankCount = new Uint32Array(MAX_BITS + 2);
  for (let i = 0; i < symbols; i++) rankCount[weights[i]]++;
  const rankStart = new Uint32Array(MAX_BITS + 2);
  let next = 0;
  for (let w = 1; w <= maxBits; w++) {
    rankStart[w] = next;
    next += rankCount[w] << (w - 1);
  }
  const entries = new Uint16Array(1 << maxBits);
  for (let s = 0; s < symbols; s++) {
    const w = weights[s];
    if (w === 0) continue;
    const length = 1 << (w - 1);
    const entry = s | ((maxBits + 1 - w) << 8);
    entries.fill(entry, rankStart[w], rankStart[w] + length);
    rankStart[w] += length;
  }
  return { maxBits, entries };
}

/**
 * Decodes one Huffman stream of exactly `count` symbols into out[at..].
 * @param {HuffmanTable} table
 * @param {Uint8Array} src
 * @param {number} start
 * @param {number} end
 * @param {Uint8Array} out
 * @param {number} at
 * @param {number} count
 */
function decodeStream(table, src, start, end, out, at, count) {
  const reader = new BackwardBitReader(src, start, end);
  const { maxBits, entries } = table;
  let bits = reader.bits;
  for (let i = 0; i < count; i++) {
    const entry = entries[reader.peekAt(bits - maxBits, maxBits)];
    out[at + i] = entry & 255;
    bits -= entry >> 8;
  }
  if (bits !== 0) throw new ZstdError("Huffman stream does not end where its symbols do");
}

/**
 * Decodes Huffman-coded literals: one stream, or four behind a six-byte jump table.
 * @param {HuffmanTable} table
 * @param {Uint8Array} src
 * @param {number} start
 * @param {number} end
 * @param {number} streams 1 or 4
 * @param {Uint8Array} out receives exactly out.length literals
 */
export function decodeHuffmanLiterals(table, src, start, end, streams, out) {
  const total = out.length;
  if (streams === 1) {
    decodeStream(table, src, start, end, out, 0, total);
    return;
  }
  if (end - start < 10) throw new ZstdError("truncated Huffman jump table");
  const s1 = src[start] | (src[start + 1] << 8);
  const s2 = src[start + 2] | (src[start + 3] << 8);
  const s3 = src[start + 4] | (src[start + 5] << 8);
  const p1 = start + 6;
  const p2 = p1 + s1;
  const p3 = p2 + s2;
  const p4 = p3 + s3;
  if (p4 >= end) throw new ZstdError("Huffman jump table points past its literals");
  const quarter = (total + 3) >> 2;
  if (quarter * 3 > total) throw new ZstdError("too few literals for four streams");
  decodeStream(table, src, p1, p2, out, 0, quarter);
  decodeStream(table, src, p2, p3, out, quarter, quarter);
  decodeStream(table, src, p3, p4, out, 2 * quarter, quarter);
  decodeStream(table, src, p4, end, out, 3 * quarter, total - 3 * quarter);
}
