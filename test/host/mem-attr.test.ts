/** GfnBitmap (kvm->mem_attr_array PRIVATE bits) answers as a Set<number> of gfns would. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { GfnBitmap } from "../../src/kvm/mem-attr.js";

describe("GfnBitmap", () => {
  it("has/add/delete/size/iteration agree with a Set over random operations (gfns up to 2^40)", () => {
    const gfn = fc.oneof(fc.integer({ min: 0, max: 2 ** 20 }), fc.integer({ min: 2 ** 39, max: 2 ** 40 }), fc.constantFrom(0, 2 ** 18 - 1, 2 ** 18, 7, 8));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("add", "delete", "has"), gfn), { maxLength: 200 }), (ops) => {
        const b = new GfnBitmap();
        const s = new Set<number>();
        for (const [op, g] of ops) {
          if (op === "add") {
            b.add(g);
            s.add(g);
          } else if (op === "delete") expect(b.delete(g)).toBe(s.delete(g));
          else expect(b.has(g)).toBe(s.has(g));
        }
        expect(b.size).toBe(s.size);
        expect([...b]).toEqual([...s].sort((x, y) => x - y));
      }),
      { numRuns: 200 },
    );
  });

  it("values that are not gfns (fractional, negative) are kept as a Set would keep them", () => {
    const b = new GfnBitmap().add(3).add(0.5).add(-2);
    expect([b.has(3.5), b.has(-3), b.has(NaN), b.has(3), b.has(0.5), b.has(-2), b.size]).toEqual([false, false, false, true, true, true, 3]);
    expect([...b]).toEqual([3, 0.5, -2]);
    expect([b.delete(0.5), b.delete(0.5), b.size]).toEqual([true, false, 2]);
  });
});
