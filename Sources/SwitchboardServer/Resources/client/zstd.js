/**
 * A zstd decoder (RFC 8878) in plain JavaScript, with no dependencies.
 *
 * Why it exists: Switchboard sends zstd-compressed WebSocket frames (and zstd deltas, which
 * are compressed against a raw-content prefix), browsers have no zstd DecompressionStream,
 * and no npm package can be installed where this project is built. So the client carries
 * its own decoder: every block type, Huffman and FSE entropy, repeat offsets, XXH64
 * checksums, skippable and concatenated frames, and a raw-content prefix (the history that
 * `ZSTD_CCtx_refPrefix` or `zstd -D <plain file>` compresses against).
 *
 * Corrupt or truncated input throws a ZstdError; output is bounded by `maxOutputSize`.
 * Frames that name a dictionary ID (formatted dictionaries) are refused.
 *
 * @module zstd
 */
import { ZstdError } from "./zstd-bits.js";
import { readHuffmanTable, decodeHuffmanLiterals } from "./zstd-huffman.js";
import { decodeSequences, reserve } from "./zstd-sequences.js";
import { xxh64Low32 } from "./zstd-xxh64.js";

export { ZstdError };

const MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK = 128 * 1024;
/** Default output bound when the caller gives none. */
export const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;

/**
 * @typedef {object} DecompressOptions
 * @property {Uint8Array} [prefix] raw history before each frame (a raw-content dictionary)
 * @property {number} [maxOutputSize] total output larger than this throws (default 64 MiB)
 * @property {boolean} [verifyChecksum] check each frame's XXH64 checksum when present (default true)
 */

/**
 * Decompresses one or more concatenated zstd frames (skippable frames are skipped).
 * @param {Uint8Array} input
 * @param {DecompressOptions} [options]
 * @returns {Uint8Array} the concatenated content of every frame
 */
export function decompress(input, options = {}) {
  if (!(input instanceof Uint8Array)) throw new TypeError("zstd: input must be a Uint8Array");
  const prefix = options.prefix ?? new Uint8Array(0);
  const maxOutput = options.maxOutputSize ?? DEFAULT_MAX_OUTPUT;
  const verify = options.verifyChecksum ?? true;
  /** @type {Uint8Array[]} */
  const parts = [];
  let total = 0;
  let pos = 0;
  if (input.length === 0) throw new ZstdError("empty input");
  while (pos < input.length) {
    if (input.length - pos < 4) throw new ZstdError("truncated frame magic");
    const magic = u32(input, pos);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (input.length - pos < 8) throw new ZstdError("truncated skippable frame");
      const size = u32(input, pos + 4);
      if (size > input.length - pos - 8) throw new ZstdError("truncated skippable frame");
      pos += 8 + size;
      continue;
    }
    if (magic !== MAGIC) throw new ZstdError(`bad magic number 0x${magic.toString(16)} at byte ${pos}`);
    const frame = decodeFrame(input, pos + 4, prefix, maxOutput - total, verify);
    parts.push(frame.content);
    total += frame.content.length;
    pos = frame.end;
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The content size a frame header declares, or undefined when it does not say.
 * @param {Uint8Array} input starting with a zstd frame
 * @returns {number | undefined}
 */
export function frameContentSize(input) {
  if (input.length < 4 || u32(input, 0) !== MAGIC) throw new ZstdError("not a zstd frame");
  return readFrameHeader(input, 4).contentSize;
}

/**
 * @param {Uint8Array} src
 * @param {number} pos just after the magic
 */
function readFrameHeader(src, pos) {
  if (pos >= src.length) throw new ZstdError("truncated frame header");
  const descriptor = src[pos++];
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  if (descriptor & 8) throw new ZstdError("reserved bit set in frame header");
  const hasChecksum = (descriptor >> 2) & 1;
  const dictIdSize = [0, 1, 2, 4][descriptor & 3];
  const fcsSize = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  const headerRest = (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
  if (pos + headerRest > src.length) throw new ZstdError("truncated frame header");
  let windowSize = 0;
  if (!singleSegment) {
    const wd = src[pos++];
    const windowLog = 10 + (wd >> 3);
    const base = 2 ** windowLog;
    windowSize = base + (base / 8) * (wd & 7);
  }
  let dictId = 0;
  for (let i = 0; i < dictIdSize; i++) dictId += src[pos + i] * 2 ** (8 * i);
  pos += dictIdSize;
  let contentSize;
  if (fcsSize > 0) {
    contentSize = 0;
    for (let i = 0; i < fcsSize; i++) contentSize += src[pos + i] * 2 ** (8 * i);
    if (fcsSize === 2) contentSize += 256;
    pos += fcsSize;
  }
  if (singleSegment) windowSize = /** @type {number} */ (contentSize);
  return { pos, windowSize, dictId, contentSize, hasChecksum };
}

/**
 * State carried from block to block within a frame.
 * @typedef {object} FrameState
 * @property {Uint8Array} out history (prefix first) followed by this frame's content
 * @property {number} outPos next byte to write in out
 * @property {number} limit out may not grow past this
 * @property {import("./zstd-huffman.js").HuffmanTable | null} huffman
 * @property {Array<import("./zstd-fse.js").FSETable | null>} fse  literal lengths, offsets, match lengths
 * @property {Int32Array} rep the three repeat offsets
 */

/**
 * @param {Uint8Array} src
 * @param {number} pos just after the magic
 * @param {Uint8Array} prefix
 * @param {number} budget bytes of output this frame may still produce
 * @param {boolean} verify
 */
function decodeFrame(src, pos, prefix, budget, verify) {
  const header = readFrameHeader(src, pos);
  pos = header.pos;
  if (header.dictId !== 0) throw new ZstdError(`frame needs dictionary ${header.dictId}, which this decoder does not have`);
  if (header.contentSize !== undefined && header.contentSize > budget) {
    throw new ZstdError(`content size ${header.contentSize} over the output limit`);
  }
  const blockMax = Math.min(header.windowSize, MAX_BLOCK);
  const initial = header.contentSize ?? Math.min(budget, Math.max(MAX_BLOCK, 4 * (src.length - pos)));
  /** @type {FrameState} */
  const state = {
    out: new Uint8Array(prefix.length + initial),
    outPos: prefix.length,
    limit: prefix.length + budget,
    huffman: null,
    fse: [null, null, null],
    rep: Int32Array.of(1, 4, 8),
  };
  state.out.set(prefix);
  for (;;) {
    if (pos + 3 > src.length) throw new ZstdError("truncated block header");
    const bh = src[pos] | (src[pos + 1] << 8) | (src[pos + 2] << 16);
    pos += 3;
    const last = bh & 1;
    const type = (bh >> 1) & 3;
    const size = bh >>> 3;
    if (type === 1) {
      if (size > blockMax) throw new ZstdError("block larger than the frame allows");
      if (pos >= src.length) throw new ZstdError("truncated RLE block");
      reserve(state, size);
      state.out.fill(src[pos], state.outPos, state.outPos + size);
      state.outPos += size;
      pos += 1;
    } else {
      if (size > blockMax) throw new ZstdError("block larger than the frame allows");
      if (pos + size > src.length) throw new ZstdError("truncated block");
      if (type === 0) {
        reserve(state, size);
        state.out.set(src.subarray(pos, pos + size), state.outPos);
        state.outPos += size;
      } else if (type === 2) {
        decodeCompressedBlock(src, pos, pos + size, state, blockMax);
      } else {
        throw new ZstdError("reserved block type");
      }
      pos += size;
    }
    if (last) break;
  }
  const content = state.out.subarray(prefix.length, state.outPos);
  if (header.contentSize !== undefined && content.length !== header.contentSize) {
    throw new ZstdError(`frame declares ${header.contentSize} bytes but holds ${content.length}`);
  }
  if (header.hasChecksum) {
    if (pos + 4 > src.length) throw new ZstdError("truncated checksum");
    if (verify && xxh64Low32(content) !== u32(src, pos)) throw new ZstdError("checksum mismatch");
    pos += 4;
  }
  return { content, end: pos };
}

/**
 * @param {Uint8Array} src
 * @param {number} start
 * @param {number} end
 * @param {FrameState} state
 * @param {number} blockMax
 */
function decodeCompressedBlock(src, start, end, state, blockMax) {
  const { literals, pos } = decodeLiterals(src, start, end, state, blockMax);
  decodeSequences(src, pos, end, state, literals, blockMax);
}

/**
 * Reads the literals section of a compressed block.
 * @param {Uint8Array} src
 * @param {number} start
 * @param {number} end
 * @param {FrameState} state
 * @param {number} blockMax
 * @returns {{ literals: Uint8Array, pos: number }}
 */
function decodeLiterals(src, start, end, state, blockMax) {
  if (start >= end) throw new ZstdError("truncated literals section");
  const b0 = src[start];
  const type = b0 & 3;
  const sizeFormat = (b0 >> 2) & 3;
  let pos = start;
  if (type < 2) {
    let size;
    if ((sizeFormat & 1) === 0) {
      size = b0 >> 3;
      pos += 1;
    } else if (sizeFormat === 1) {
      if (start + 2 > end) throw new ZstdError("truncated literals header");
      size = (b0 >> 4) | (src[start + 1] << 4);
      pos += 2;
    } else {
      if (start + 3 > end) throw new ZstdError("truncated literals header");
      size = (b0 >> 4) | (src[start + 1] << 4) | (src[start + 2] << 12);
      pos += 3;
    }
    if (size > blockMax) throw new ZstdError("literals larger than a block");
    if (type === 0) {
      if (pos + size > end) throw new ZstdError("truncated raw literals");
      return { literals: src.subarray(pos, pos + size), pos: pos + size };
    }
    if (pos + 1 > end) throw new ZstdError("truncated RLE literals");
    return { literals: new Uint8Array(size).fill(src[pos]), pos: pos + 1 };
  }
  const headerSize = sizeFormat < 2 ? 3 : sizeFormat + 2;
  if (start + headerSize > end) throw new ZstdError("truncated literals header");
  const h = (b0 | (src[start + 1] << 8) | (src[start + 2] << 16) | (headerSize > 3 ? src[start + 3] << 24 : 0)) >>> 0;
  let regenerated, compressed;
  if (headerSize === 3) {
    regenerated = (h >>> 4) & 0x3ff;
    compressed = (h >>> 14) & 0x3ff;
  } else if (headerSize === 4) {
    regenerated = (h >>> 4) & 0x3fff;
    compressed = h >>> 18;
  } else {
    regenerated = (h >>> 4) & 0x3ffff;
    compressed = (h >>> 22) + src[start + 4] * 1024;
  }
  const streams = sizeFormat === 0 ? 1 : 4;
  pos += headerSize;
  if (regenerated > blockMax) throw new ZstdError("literals larger than a block");
  if (pos + compressed > end) throw new ZstdError("truncated compressed literals");
  const litEnd = pos + compressed;
  if (type === 2) {
    const { table, size } = readHuffmanTable(src, pos, litEnd);
    state.huffman = table;
    pos += size;
  } else if (!state.huffman) {
    throw new ZstdError("treeless literals with no previous Huffman table");
  }
  const literals = new Uint8Array(regenerated);
  decodeHuffmanLiterals(state.huffman, src, pos, litEnd, streams, literals);
  return { literals, pos: litEnd };
}

/**
 * @param {Uint8Array} b
 * @param {number} i
 */
function u32(b, i) {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}
