import { describe, expect, it } from "vitest";
import { formatSize, parseAddress, parseCount, parseInteger, parseSize, sizeToken, toJson } from "../../src/commands/values.js";
import { lex } from "../../src/commands/lexer.js";
import { closest, didYouMean } from "../../src/commands/suggest.js";

const ok = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T => {
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe("sizes and addresses", () => {
  it("accepts units, hex and decimal", () => {
    expect(ok(parseSize("4K"))).toBe(4096n);
    expect(ok(parseSize("2M"))).toBe(2n << 20n);
    expect(ok(parseSize("1G"))).toBe(1n << 30n);
    expect(ok(parseSize("64M"))).toBe(64n << 20n);
    expect(ok(parseSize("64MiB"))).toBe(64n << 20n);
    expect(ok(parseSize("0x1000"))).toBe(4096n);
    expect(ok(parseSize("4096"))).toBe(4096n);
    expect(ok(parseAddress("0x8000_0000"))).toBe(0x8000_0000n);
    expect(ok(parseAddress("2G"))).toBe(0x8000_0000n);
    // hex never takes a unit: 0x1b is 27
    expect(ok(parseSize("0x1b"))).toBe(27n);
  });
  it("rejects bad input with a message naming it", () => {
    const r = parseSize("12Q", "--mem");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/--mem: unknown unit 'Q'/);
    const h = parseAddress("0xZZ");
    expect(h.ok).toBe(false);
    const big = parseSize("0x1" + "0".repeat(16));
    expect(big.ok).toBe(false);
    if (!big.ok) expect(big.error).toMatch(/64 bits/);
    expect(parseSize("").ok).toBe(false);
  });
  it("signed integers and bounded counts", () => {
    expect(ok(parseInteger("-1"))).toBe(-1n);
    expect(ok(parseInteger("0x10"))).toBe(16n);
    expect(parseCount("9", "--vcpus", 1, 8).ok).toBe(false);
    expect(ok(parseCount("8", "--vcpus", 1, 8))).toBe(8);
  });
  it("formats sizes and tokens that parse back", () => {
    expect(formatSize(64n << 20n)).toBe("64 MiB");
    expect(formatSize(4096n)).toBe("4 KiB");
    expect(formatSize(1536n << 10n)).toBe("1.5 MiB");
    for (const v of [4096n, 2n << 20n, 1n << 30n, 0x1234n, 12345678n, 3n]) expect(ok(parseSize(sizeToken(v)))).toBe(v);
  });
  it("JSON-friendly values", () => {
    expect(toJson({ a: 0x80000000n, b: [1n], c: new Map([["k", 2n]]), f: () => 1 })).toEqual({ a: "0x80000000", b: ["0x1"], c: { k: "0x2" } });
    const cyc: Record<string, unknown> = {};
    cyc["self"] = cyc;
    expect(toJson(cyc)).toEqual({ self: "[cycle]" });
  });
});

describe("lexer", () => {
  it("splits words with positions, quotes and comments", () => {
    const l = lex(`touch  0x1000 --grep "a b" # comment`);
    expect(l.words.map((w) => w.text)).toEqual(["touch", "0x1000", "--grep", "a b"]);
    expect(l.words[1]).toMatchObject({ start: 7, end: 13 });
    expect(lex(`trace --grep 'x`).error).toMatch(/unterminated/);
    expect(lex(`a\\ b`).words.map((w) => w.text)).toEqual(["a b"]);
  });
});

describe("suggestions", () => {
  it("finds close names", () => {
    expect(didYouMean("tuch", ["touch", "trace", "new"])).toBe(", did you mean 'touch'?");
    expect(closest("granul", ["granule", "acct"])).toEqual(["granule"]);
    expect(didYouMean("zzzzzz", ["touch"])).toBe("");
  });
});
