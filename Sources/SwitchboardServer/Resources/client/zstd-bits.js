// Bit-level readers for the zstd decoder (RFC 8878 section 4.1 and 4.2.1).

/** The error every decoding failure throws: corrupt, truncated or unsupported input. */
export class ZstdError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(`zstd: ${message}`);
    this.name = "ZstdError";
  }
}

/**
 * Reads a zstd "backward" bit stream: written forward, read from its end. The last byte holds
 * a 1 bit that marks where the stream starts; bits are taken from the highest position down.
 * Reading past the start gives zero bits (as the reference decoder does) and leaves `bits`
 * negative, which callers check to tell an overread from a stream that ended exactly.
 */
export class BackwardBitReader {
  /**
   * @param {Uint8Array} src
   * @param {number} start first byte of the stream
   * @param {number} end one past its last byte
   */
  constructor(src, start, end) {
    if (end <= start) throw new ZstdError("empty bit stream");
    const last = src[end - 1];
    if (last === 0) throw new ZstdError("bit stream without its end mark");
    this.src = src;
    this.start = start;
    this.end = end;
    /** Bits not yet read; negative once the reader went past the start. */
    this.bits = (end - start - 1) * 8 + (31 - Math.clz32(last));
  }

  /**
   * The n bits (n <= 24) that start at bit position pos, without consuming them.
   * @param {number} pos
   * @param {number} n
   * @returns {number}
   */
  peekAt(pos, n) {
    if (n === 0) return 0;
    if (pos < 0) {
      if (pos + n <= 0) return 0;
      return this.peekAt(0, n + pos) << -pos;
    }
    const src = this.src;
    const end = this.end;
    const i = this.start + (pos >> 3);
    let v = src[i];
    if (i + 1 < end) v |= src[i + 1] << 8;
    if (i + 2 < end) v |= src[i + 2] << 16;
    if (i + 3 < end) v |= src[i + 3] << 24;
    return (v >>> (pos & 7)) & ((1 << n) - 1);
  }

  /**
   * Reads n bits (0 to 24), the first-read bit being the most significant.
   * @param {number} n
   */
  read(n) {
    if (n === 0) return 0;
    const pos = this.bits - n;
    this.bits = pos;
    return this.peekAt(pos, n);
  }

  /**
   * Reads n bits (0 to 52) into a plain number.
   * @param {number} n
   */
  readLong(n) {
    if (n <= 24) return this.read(n);
    const high = this.read(n - 24);
    return high * 16777216 + this.read(24);
  }
}

/**
 * Reads bits forward, least significant first (FSE table descriptions).
 */
export class ForwardBitReader {
  /**
   * @param {Uint8Array} src
   * @param {number} start
   * @param {number} end
   */
  constructor(src, start, end) {
    this.src = src;
    this.start = start;
    this.end = end;
    /** Bit offset from `start`. */
    this.pos = 0;
  }

  /**
   * The next n bits (n <= 24) without consuming them; bytes past the end read as 0.
   * @param {number} n
   */
  peek(n) {
    const src = this.src;
    const i = this.start + (this.pos >> 3);
    let v = 0;
    for (let k = 0; k < 4; k++) if (i + k < this.end) v |= src[i + k] << (8 * k);
    return (v >>> (this.pos & 7)) & ((1 << n) - 1);
  }

  /** @param {number} n */
  skip(n) {
    this.pos += n;
    if (this.start + ((this.pos + 7) >> 3) > this.end) throw new ZstdError("truncated FSE table description");
  }

  /** Bytes consumed so far, counting a partly used byte. */
  get bytesUsed() {
    return (this.pos + 7) >> 3;
  }
}
