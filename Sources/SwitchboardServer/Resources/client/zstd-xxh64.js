// XXH64 (seed 0) for zstd's content checksum, on 32-bit halves: BigInt is ten times slower.

// A 64-bit value is two numbers, hi and lo, each an unsigned 32-bit integer.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

// Scratch result of the arithmetic helpers, so the hot loop allocates nothing.
let rh = 0;
let rl = 0;

/**
 * (ah,al) * (bh,bl) mod 2^64 into (rh, rl).
 * @param {number} ah
 * @param {number} al
 * @param {number} bh
 * @param {number} bl
 */
function mul(ah, al, bh, bl) {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  rl = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  rh = (carry + Math.imul(al, bh) + Math.imul(ah, bl)) >>> 0;
}

/**
 * (ah,al) + (bh,bl) mod 2^64 into (rh, rl).
 * @param {number} ah
 * @param {number} al
 * @param {number} bh
 * @param {number} bl
 */
function add(ah, al, bh, bl) {
  const l = al + bl;
  rl = l >>> 0;
  rh = (ah + bh + (l > 0xffffffff ? 1 : 0)) >>> 0;
}

/**
 * rotate (h,l) left by r (0 < r < 64, r !== 32) into (rh, rl).
 * @param {number} h
 * @param {number} l
 * @param {number} r
 */
function rotl(h, l, r) {
  if (r > 32) {
    const t = h;
    h = l;
    l = t;
    r -= 32;
  }
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/**
 * round(acc, input) = rotl(acc + input * P2, 31) * P1, into (rh, rl).
 * @param {number} acch
 * @param {number} accl
 * @param {number} inh
 * @param {number} inl
 */
function round(acch, accl, inh, inl) {
  mul(inh, inl, P2H, P2L);
  add(acch, accl, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

/**
 * A little-endian u32 at b[i].
 * @param {Uint8Array} b
 * @param {number} i
 */
function u32(b, i) {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/**
 * The low 32 bits of XXH64(data, seed 0): what a zstd frame's checksum holds.
 * @param {Uint8Array} data
 * @param {number} [start]
 * @param {number} [end]
 * @returns {number}
 */
export function xxh64Low32(data, start = 0, end = data.length) {
  return xxh64(data, start, end)[1];
}

/**
 * XXH64 with seed 0, as [high 32 bits, low 32 bits].
 * @param {Uint8Array} data
 * @param {number} [start]
 * @param {number} [end]
 * @returns {[number, number]}
 */
export function xxh64(data, start = 0, end = data.length) {
  const length = end - start;
  let p = start;
  let hh, hl;
  if (length >= 32) {
    add(P1H, P1L, P2H, P2L);
    let v1h = rh, v1l = rl;
    let v2h = P2H, v2l = P2L;
    let v3h = 0, v3l = 0;
    add(0, 0, ~P1H >>> 0, ~P1L >>> 0); // -P1 = ~P1 + 1
    add(rh, rl, 0, 1);
    let v4h = rh, v4l = rl;
    const limit = end - 32;
    while (p <= limit) {
      round(v1h, v1l, u32(data, p + 4), u32(data, p)); v1h = rh; v1l = rl;
      round(v2h, v2l, u32(data, p + 12), u32(data, p + 8)); v2h = rh; v2l = rl;
      round(v3h, v3l, u32(data, p + 20), u32(data, p + 16)); v3h = rh; v3l = rl;
      round(v4h, v4l, u32(data, p + 28), u32(data, p + 24)); v4h = rh; v4l = rl;
      p += 32;
    }
    rotl(v1h, v1l, 1); hh = rh; hl = rl;
    rotl(v2h, v2l, 7); add(hh, hl, rh, rl); hh = rh; hl = rl;
    rotl(v3h, v3l, 12); add(hh, hl, rh, rl); hh = rh; hl = rl;
    rotl(v4h, v4l, 18); add(hh, hl, rh, rl); hh = rh; hl = rl;
    for (const [vh, vl] of [[v1h, v1l], [v2h, v2l], [v3h, v3l], [v4h, v4l]]) {
      round(0, 0, vh, vl);
      hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0;
      mul(hh, hl, P1H, P1L);
      add(rh, rl, P4H, P4L); hh = rh; hl = rl;
    }
  } else {
    hh = P5H; hl = P5L;
  }
  add(hh, hl, Math.floor(length / 0x100000000), length >>> 0); hh = rh; hl = rl;
  while (p + 8 <= end) {
    round(0, 0, u32(data, p + 4), u32(data, p));
    hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0;
    rotl(hh, hl, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L); hh = rh; hl = rl;
    p += 8;
  }
  if (p + 4 <= end) {
    mul(0, u32(data, p), P1H, P1L);
    hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0;
    rotl(hh, hl, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L); hh = rh; hl = rl;
    p += 4;
  }
  while (p < end) {
    mul(0, data[p], P5H, P5L);
    hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0;
    rotl(hh, hl, 11);
    mul(rh, rl, P1H, P1L); hh = rh; hl = rl;
    p++;
  }
  // avalanche
  hl = (hl ^ (hh >>> 1)) >>> 0; // h ^= h >> 33
  mul(hh, hl, P2H, P2L); hh = rh; hl = rl;
  const sl = ((hl >>> 29) | (hh << 3)) >>> 0; // h ^= h >> 29
  hl = (hl ^ sl) >>> 0; hh = (hh ^ (hh >>> 29)) >>> 0;
  mul(hh, hl, P3H, P3L); hh = rh; hl = rl;
  hl = (hl ^ hh) >>> 0; // h ^= h >> 32
  return [hh, hl];
}
