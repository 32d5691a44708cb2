// Finite State Entropy tables for the zstd decoder (RFC 8878 section 4.1).
import { ForwardBitReader, ZstdError } from "./zstd-bits.js";

/**
 * A decoding table: for each state, the symbol it stands for, how many bits to read and the
 * base of the next state.
 * @typedef {{ accuracyLog: number, symbol: Uint8Array, nbBits: Uint8Array, newState: Uint16Array }} FSETable
 */

/**
 * Builds a decoding table from normalized counts (-1 meaning "less than 1").
 * @param {Int16Array | number[]} norm counts per symbol; their sum (with -1 as 1) is 1 << accuracyLog
 * @param {number} symbolCount how many entries of norm are used
 * @param {number} accuracyLog
 * @returns {FSETable}
 */
export function buildFSETable(norm, symbolCount, accuracyLog) {
  const size = 1 << accuracyLog;
  const symbol = new Uint8Array(size);
  const nbBits = new Uint8Array(size);
  const newState = new Uint16Array(size);
  const next = new Uint16Array(symbolCount);
  let high = size - 1;
  for (let s = 0; s < symbolCount; s++) {
    if (norm[s] === -1) {
      if (high < 0) throw new ZstdError("FSE table overflows");
      symbol[high--] = s;
      next[s] = 1;
    } else {
      next[s] = norm[s];
    }
  }
  const step = (size >> 1) + (size >> 3) + 3;
  const mask = size - 1;
  let pos = 0;
  for (let s = 0; s < symbolCount; s++) {
    for (let i = 0; i < norm[s]; i++) {
      symbol[pos] = s;
      do pos = (pos + step) & mask; while (pos > high);
    }
  }
  if (pos !== 0) throw new ZstdError("FSE distribution does not fill its table");
  for (let u = 0; u < size; u++) {
    const n = next[symbol[u]]++;
    const bits = accuracyLog - (31 - Math.clz32(n));
    nbBits[u] = bits;
    newState[u] = (n << bits) - size;
  }
  return { accuracyLog, symbol, nbBits, newState };
}

/**
 * A table that always yields one symbol and reads no bits (the "RLE" compression mode).
 * @param {number} s
 * @returns {FSETable}
 */
export function rleFSETable(s) {
  return { accuracyLog: 0, symbol: Uint8Array.of(s), nbBits: new Uint8Array(1), newState: new Uint16Array(1) };
}

/**
 * Reads an FSE table description (RFC 8878 4.1.1) and builds its decoding table.
 * @param {Uint8Array} src
 * @param {number} start
 * @param {number} end
 * @param {number} maxSymbol largest symbol value allowed
 * @param {number} maxAccuracyLog
 * @returns {{ table: FSETable, size: number }} size: bytes the description took
 */
export function readFSETable(src, start, end, maxSymbol, maxAccuracyLog) {
  if (start >= end) throw new ZstdError("truncated FSE table description");
  const reader = new ForwardBitReader(src, start, end);
  const accuracyLog = reader.peek(4) + 5;
  reader.skip(4);
  if (accuracyLog > maxAccuracyLog) throw new ZstdError(`FSE accuracy log ${accuracyLog} over ${maxAccuracyLog}`);
  const norm = new Int16Array(maxSymbol + 1);
  let remaining = (1 << accuracyLog) + 1;
  let threshold = 1 << accuracyLog;
  let nbBits = accuracyLog + 1;
  let s = 0;
  let previousZero = false;
  while (remaining > 1) {
    if (previousZero) {
      let repeat = 0;
      for (;;) {
        const flag = reader.peek(2);
        reader.skip(2);
        repeat += flag;
        if (flag !== 3) break;
      }
      s += repeat;
      if (s > maxSymbol) throw new ZstdError("FSE table description names too many symbols");
    }
    if (s > maxSymbol) throw new ZstdError("FSE table description names too many symbols");
    const max = 2 * threshold - 1 - remaining;
    let count;
    const low = reader.peek(nbBits - 1);
    if (low < max) {
      count = low;
      reader.skip(nbBits - 1);
    } else {
      count = reader.peek(nbBits);
      if (count >= threshold) count -= max;
      reader.skip(nbBits);
    }
    count--;
    remaining -= count < 0 ? -count : count;
    norm[s++] = count;
    previousZero = count === 0;
    while (remaining < threshold) {
      nbBits--;
      threshold >>= 1;
    }
  }
  if (remaining !== 1) throw new ZstdError("FSE table description does not add up");
  return { table: buildFSETable(norm, s, accuracyLog), size: reader.bytesUsed };
}

// Predefined distributions (RFC 8878 3.1.1.3.2.2).
const LL_DEFAULT = [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1];
const ML_DEFAULT = [
  1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1,
];
const OF_DEFAULT = [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1];

/** The predefined literal-length table. */
export const LL_PREDEFINED = buildFSETable(LL_DEFAULT, LL_DEFAULT.length, 6);
/** The predefined match-length table. */
export const ML_PREDEFINED = buildFSETable(ML_DEFAULT, ML_DEFAULT.length, 6);
/** The predefined offset-code table. */
export const OF_PREDEFINED = buildFSETable(OF_DEFAULT, OF_DEFAULT.length, 5);
