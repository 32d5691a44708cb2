// The zstd decoder against frames made by the zstd command-line tool, generated at test time.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { decompress, frameContentSize, ZstdError } from "../zstd.js";

let dir;

/** A deterministic pseudo-random generator, so failures reproduce. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const WORDS = "the quick brown fox jumps over lazy dog price stock market open close high low volume trade event topic seq epoch broker subscriber".split(" ");

function text(size, seed) {
  const r = rng(seed);
  let s = "";
  while (s.length < size) s += WORDS[Math.floor(r() * WORDS.length)] + (r() < 0.1 ? ".\n" : " ");
  return Buffer.from(s.slice(0, size));
}

function json(count, seed) {
  const r = rng(seed);
  const rows = [];
  for (let i = 0; i < count; i++) {
    rows.push({ symbol: WORDS[Math.floor(r() * WORDS.length)].toUpperCase(), seq: i, price: Math.round(r() * 100000) / 100, ts: 1763771234567890 + i * 1000 });
  }
  return Buffer.from(JSON.stringify(rows));
}

function repetitive(size) {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = i % 3000 < 1500 ? 0 : "abcabcabd"[i % 9].charCodeAt(0);
  return out;
}

/** Random 3-byte words: many short matches between literals that do not compress. */
function words(count, size, seed) {
  const r = rng(seed);
  const list = Array.from({ length: count }, () => Buffer.from([0, 0, 0].map(() => Math.floor(r() * 256))));
  const parts = [];
  for (let n = 0; n < size; n += 3) parts.push(list[Math.floor(r() * count)]);
  return Buffer.concat(parts);
}

/** Short skewed random text: literals that Huffman-compress, and no match at all. */
function skewed(size, seed) {
  const r = rng(seed);
  return Buffer.from(Array.from({ length: size }, () => 65 + Math.floor(r() ** 2 * 60)));
}

const INPUTS = {
  empty: () => Buffer.alloc(0),
  one: () => Buffer.from("x"),
  text: () => text(100_000, 1),
  json: () => json(3000, 2),
  random: () => randomBytes(70_000),
  repetitive: () => repetitive(300_000),
  mixed: () => Buffer.concat([text(40_000, 3), randomBytes(3000), json(300, 4), Buffer.alloc(5000, 7)]),
  words: () => words(1024, 200_000, 7),
  skewed: () => skewed(300, 8),
  large: () => Buffer.concat([json(9000, 5), text(400_000, 6)]).subarray(0, 1_000_000),
};

/** Compresses `data` with the zstd tool and the given arguments; returns the frame bytes. */
function zstd(name, data, args) {
  const input = join(dir, name);
  writeFileSync(input, data);
  const output = input + ".zst";
  execFileSync("zstd", ["-q", "-f", ...args, input, "-o", output]);
  return new Uint8Array(readFileSync(output));
}

function checkRoundTrip(name, data, args, options = {}) {
  const frame = zstd(name, data, args);
  const got = decompress(frame, options);
  assert.equal(got.length, data.length, `${name} ${args.join(" ")}: length`);
  assert.ok(Buffer.from(got.buffer, got.byteOffset, got.length).equals(data), `${name} ${args.join(" ")}: bytes differ`);
  return frame;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "zstd-test-"));
});

after(() => rmSync(dir, { recursive: true, force: true }));

const FLAG_SETS = [[], ["--no-content-size"], ["--no-check"], ["--no-content-size", "--no-check"]];

for (const [name, make] of Object.entries(INPUTS)) {
  test(`zstd tool corpus: ${name}`, () => {
    const data = make();
    // The 1 MB input at every level would take most of the minute; it gets a spread of levels.
    const levels = name === "large" ? [1, 3, 6, 9, 13, 16, 19] : Array.from({ length: 19 }, (_, i) => i + 1);
    for (const level of levels) {
      // Every level with the default flags (content size and checksum), and one other flag set per level.
      checkRoundTrip(name, data, [`-${level}`]);
      checkRoundTrip(name, data, [`-${level}`, ...FLAG_SETS[1 + (level % 3)]]);
    }
    if (name !== "large") for (const flags of FLAG_SETS) checkRoundTrip(name, data, ["--ultra", "-22", ...flags]);
  });
}

test("a block of more than 32,512 sequences (the three-byte sequence count)", () => {
  // Random 3-byte words with the minimum match at 3: level 19 makes one sequence per word.
  checkRoundTrip("manyseq", words(1024, 300_000, 12), ["-19", "--zstd=mml=3"]);
});

test("Huffman weights stored directly (a small alphabet)", () => {
  // With few symbols the weights are written as 4-bit numbers, not FSE-compressed.
  for (const symbols of [4, 8, 12]) {
    const r = rng(symbols);
    const data = Buffer.from(Array.from({ length: 5000 }, () => Math.floor(r() ** 2 * symbols)));
    for (const level of [1, 3, 19]) checkRoundTrip("direct", data, [`-${level}`]);
  }
});

test("frames declare their content size unless told not to", () => {
  const data = text(5000, 9);
  assert.equal(frameContentSize(zstd("fcs", data, ["-3"])), 5000);
  assert.equal(frameContentSize(zstd("fcs", data, ["-3", "--no-content-size"])), undefined);
});

test("a raw-content dictionary (zstd -D with a plain file) acts as a prefix", () => {
  const previous = json(400, 11);
  const next = Buffer.from(previous.toString().replace(/"seq":1(\d)/g, '"seq":2$1'));
  const dict = join(dir, "prev.bin");
  writeFileSync(dict, previous);
  for (const level of [1, 3, 9, 19]) {
    for (const flags of FLAG_SETS) {
      const frame = checkRoundTrip("delta", next, [`-${level}`, "-D", dict, ...flags], { prefix: new Uint8Array(previous) });
      assert.ok(frame.length < next.length / 4, "the prefix is really used");
    }
  }
  // Without the prefix the same frame cannot decode.
  const frame = zstd("delta", next, ["-3", "-D", dict]);
  assert.throws(() => decompress(frame), ZstdError);
  // A prefix of binary data that the next input mostly repeats.
  const binary = randomBytes(50_000);
  writeFileSync(dict, binary);
  const changed = Buffer.concat([binary.subarray(0, 20_000), Buffer.from("changed"), binary.subarray(20_000)]);
  const bframe = checkRoundTrip("bdelta", changed, ["-6", "-D", dict], { prefix: new Uint8Array(binary) });
  assert.ok(bframe.length < 1000);
});

test("concatenated and skippable frames", () => {
  const a = text(3000, 21);
  const b = json(100, 22);
  const fa = zstd("a", a, ["-3"]);
  const fb = zstd("b", b, ["-19", "--no-check"]);
  const skippable = new Uint8Array(8 + 5);
  new DataView(skippable.buffer).setUint32(0, 0x184d2a53, true);
  new DataView(skippable.buffer).setUint32(4, 5, true);
  const all = new Uint8Array([...skippable, ...fa, ...skippable, ...fb]);
  assert.ok(Buffer.from(decompress(all)).equals(Buffer.concat([a, b])));
  const multi = zstd("multi", Buffer.concat([a, b]), ["-3", "-B2048"]);
  assert.ok(Buffer.from(decompress(multi)).equals(Buffer.concat([a, b])));
});

test("the output bound is enforced", () => {
  const data = Buffer.alloc(200_000, 1);
  const frame = zstd("bound", data, ["-3"]);
  assert.throws(() => decompress(frame, { maxOutputSize: 100_000 }), /limit/);
  const unsized = zstd("bound", data, ["-3", "--no-content-size"]);
  assert.throws(() => decompress(unsized, { maxOutputSize: 100_000 }), /limit/);
  assert.equal(decompress(unsized, { maxOutputSize: 200_000 }).length, 200_000);
});

test("corrupt and truncated frames throw", () => {
  const data = Buffer.concat([json(500, 31), text(20_000, 32)]);
  const frame = zstd("corrupt", data, ["-7"]);
  assert.throws(() => decompress(new Uint8Array([0x28, 0xb5, 0x2f, 0xfe, ...frame.subarray(4)])), /bad magic/);
  assert.throws(() => decompress(new Uint8Array(0)), ZstdError);
  for (let cut = 1; cut < frame.length; cut += Math.max(1, Math.floor(frame.length / 97))) {
    assert.throws(() => decompress(frame.subarray(0, cut)), ZstdError, `truncated at ${cut}`);
  }
  const badSum = frame.slice();
  badSum[badSum.length - 1] ^= 0x40;
  assert.throws(() => decompress(badSum), /checksum mismatch/);
  assert.ok(decompress(badSum, { verifyChecksum: false }).length === data.length);
  // Flipped bytes anywhere: either an error or (rarely) other output, which the checksum catches.
  const r = rng(77);
  for (let i = 0; i < 400; i++) {
    const bad = frame.slice();
    const at = 4 + Math.floor(r() * (bad.length - 4));
    bad[at] ^= 1 << Math.floor(r() * 8);
    assert.throws(() => decompress(bad), ZstdError, `flipped byte ${at}`);
  }
  // Without a checksum, a flipped byte either throws a ZstdError or yields bytes: never hangs, never another error.
  const plain = zstd("corrupt", data, ["-7", "--no-check"]);
  for (let i = 0; i < 400; i++) {
    const bad = plain.slice();
    const at = 4 + Math.floor(r() * (bad.length - 4));
    bad[at] = Math.floor(r() * 256);
    try {
      decompress(bad);
    } catch (e) {
      assert.ok(e instanceof ZstdError, `flipped byte ${at}: ${e}`);
    }
  }
});
