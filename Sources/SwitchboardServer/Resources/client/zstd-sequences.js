// The sequences section of a compressed zstd block, and executing it (RFC 8878 3.1.1.3.2, 3.1.1.4).
import { BackwardBitReader, ZstdError } from "./zstd-bits.js";
import { readFSETable, rleFSETable, LL_PREDEFINED, ML_PREDEFINED, OF_PREDEFINED } from "./zstd-fse.js";

const LL_BASE = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048,
  4096, 8192, 16384, 32768, 65536,
];
const LL_BITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
/** @type {number[]} */
const ML_BASE = [];
/** @type {number[]} */
const ML_BITS = [];
for (let i = 0; i < 32; i++) {
  ML_BASE.push(i + 3);
  ML_BITS.push(0);
}
ML_BASE.push(35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539);
ML_BITS.push(1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);

// Per kind of symbol: predefined table, largest symbol, largest accuracy log.
const KINDS = [
  { predefined: LL_PREDEFINED, maxSymbol: 35, maxLog: 9, name: "literal length" },
  { predefined: OF_PREDEFINED, maxSymbol: 31, maxLog: 8, name: "offset" },
  { predefined: ML_PREDEFINED, maxSymbol: 52, maxLog: 9, name: "match length" },
];

/**
 * Decodes the sequences of a block and writes the block's content (literals and matches).
 * @param {Uint8Array} src
 * @param {number} start first byte of the sequences section
 * @param {number} end end of the block
 * @param {import("./zstd.js").FrameState} state
 * @param {Uint8Array} literals
 * @param {number} blockMax
 */
export function decodeSequences(src, start, end, state, literals, blockMax) {
  if (start >= end) throw new ZstdError("truncated sequences section");
  let pos = start;
  const b0 = src[pos++];
  let count;
  if (b0 < 128) {
    count = b0;
  } else if (b0 < 255) {
    if (pos >= end) throw new ZstdError("truncated sequences header");
    count = ((b0 - 128) << 8) + src[pos++];
  } else {
    if (pos + 2 > end) throw new ZstdError("truncated sequences header");
    count = src[pos] + (src[pos + 1] << 8) + 0x7f00;
    pos += 2;
  }
  if (count === 0) {
    if (pos !== end) throw new ZstdError("bytes after an empty sequences section");
    reserve(state, literals.length);
    state.out.set(literals, state.outPos);
    state.outPos += literals.length;
    return;
  }
  if (pos >= end) throw new ZstdError("truncated sequences header");
  const modes = src[pos++];
  if (modes & 3) throw new ZstdError("reserved bits set in sequence compression modes");
  const shifts = [6, 4, 2];
  for (let k = 0; k < 3; k++) {
    const mode = (modes >> shifts[k]) & 3;
    const kind = KINDS[k];
    if (mode === 0) {
      state.fse[k] = kind.predefined;
    } else if (mode === 1) {
      if (pos >= end) throw new ZstdError(`truncated RLE ${kind.name} code`);
      const symbol = src[pos++];
      if (symbol > kind.maxSymbol) throw new ZstdError(`${kind.name} code ${symbol} out of range`);
      state.fse[k] = rleFSETable(symbol);
    } else if (mode === 2) {
      const { table, size } = readFSETable(src, pos, end, kind.maxSymbol, kind.maxLog);
      state.fse[k] = table;
      pos += size;
    } else if (!state.fse[k]) {
      throw new ZstdError(`repeated ${kind.name} table with no previous table`);
    }
  }
  execute(src, pos, end, state, literals, count, blockMax);
}

/**
 * @param {Uint8Array} src
 * @param {number} start the backward bit stream of sequences
 * @param {number} end
 * @param {import("./zstd.js").FrameState} state
 * @param {Uint8Array} literals
 * @param {number} count number of sequences
 * @param {number} blockMax
 */
function execute(src, start, end, state, literals, count, blockMax) {
  const [ll, of, ml] = /** @type {import("./zstd-fse.js").FSETable[]} */ (state.fse);
  const reader = new BackwardBitReader(src, start, end);
  let llState = reader.read(ll.accuracyLog);
  let ofState = reader.read(of.accuracyLog);
  let mlState = reader.read(ml.accuracyLog);
  const rep = state.rep;
  const blockStart = state.outPos;
  let lit = 0;
  for (let i = 0; i < count; i++) {
    const ofCode = of.symbol[ofState];
    const mlCode = ml.symbol[mlState];
    const llCode = ll.symbol[llState];
    if (ofCode > 31) throw new ZstdError("offset code out of range");
    const offsetValue = ofCode === 0 ? 1 : 2 ** ofCode + reader.readLong(ofCode);
    const matchLength = ML_BASE[mlCode] + reader.read(ML_BITS[mlCode]);
    const literalLength = LL_BASE[llCode] + reader.read(LL_BITS[llCode]);
    if (reader.bits < 0) throw new ZstdError("sequences bit stream overread");

    let offset;
    if (offsetValue > 3) {
      offset = offsetValue - 3;
      rep[2] = rep[1];
      rep[1] = rep[0];
      rep[0] = offset;
    } else {
      const index = offsetValue - 1 + (literalLength === 0 ? 1 : 0);
      if (index === 0) {
        offset = rep[0];
      } else {
        offset = index === 3 ? rep[0] - 1 : rep[index];
        if (offset === 0) throw new ZstdError("repeat offset of zero");
        if (index !== 1) rep[2] = rep[1];
        rep[1] = rep[0];
        rep[0] = offset;
      }
    }

    if (i + 1 < count) {
      llState = ll.newState[llState] + reader.read(ll.nbBits[llState]);
      mlState = ml.newState[mlState] + reader.read(ml.nbBits[mlState]);
      ofState = of.newState[ofState] + reader.read(of.nbBits[ofState]);
    }

    if (lit + literalLength > literals.length) throw new ZstdError("sequence uses more literals than the block has");
    if (state.outPos - blockStart + literalLength + matchLength > blockMax) throw new ZstdError("block content larger than a block");
    reserve(state, literalLength + matchLength);
    const out = state.out;
    let o = state.outPos;
    if (literalLength > 0) {
      out.set(literals.subarray(lit, lit + literalLength), o);
      o += literalLength;
      lit += literalLength;
    }
    if (offset > o) throw new ZstdError("match offset reaches before the start of the history");
    let from = o - offset;
    if (offset >= matchLength) {
      out.copyWithin(o, from, from + matchLength);
      o += matchLength;
    } else {
      for (let k = 0; k < matchLength; k++) out[o++] = out[from++];
    }
    state.outPos = o;
  }
  if (reader.bits !== 0) throw new ZstdError("sequences bit stream does not end where its sequences do");
  const rest = literals.length - lit;
  reserve(state, rest);
  state.out.set(literals.subarray(lit), state.outPos);
  state.outPos += rest;
}

/**
 * Makes room for n more bytes of output, within the limit.
 * @param {import("./zstd.js").FrameState} state
 * @param {number} n
 */
export function reserve(state, n) {
  const need = state.outPos + n;
  if (need > state.limit) throw new ZstdError("output larger than the limit");
  if (need <= state.out.length) return;
  const grown = new Uint8Array(Math.min(state.limit, Math.max(need, state.out.length * 2)));
  grown.set(state.out.subarray(0, state.outPos));
  state.out = grown;
}
