/**
 * Independent cases: RMI_VERSION, RMI_FEATURES, GRANULE_DELEGATE / UNDELEGATE (rmm-model.md
 * §1, §3.1, §5.1-§5.3), the SMC entry (unknown FIDs, hostile register values) and misuse of
 * the TypeScript API.
 */
import { describe, expect, it } from "vitest";
import { GranuleProtectionFault } from "../../../src/index.js";
import { DRAM_BASE, DRAM_END, FID, G, INPUT, MMIO, NOT_MEMORY, Rig, SECURE, SUCCESS, U64_MAX, decode } from "./harness.js";

describe("RMI_VERSION (§5.1)", () => {
  it("1.0 is supported: SUCCESS, x1 = x2 = 0x10000", () => {
    const r = new Rig().ok(FID.VERSION, 0x10000n);
    expect([r.x1, r.x2]).toEqual([0x10000n, 0x10000n]);
  });

  it.each([0x20000n, 0x10001n, 0n, U64_MAX])("0x%s is not supported: INPUT, outputs still name 1.0 and bits 63:31 are 0", (req) => {
    const r = new Rig().expect(FID.VERSION, [req], INPUT);
    expect(r.x2).toBe(0x10000n);
    expect(r.x1 >> 31n).toBe(0n);
    expect(r.x2 >> 31n).toBe(0n);
  });
});

describe("RMI_FEATURES (§3.1, §5.2)", () => {
  it("register 0 describes the RMM: S2SZ = 48, SHA-256 and SHA-512, bits 63:42 zero", () => {
    const v = new Rig().ok(FID.FEATURES, 0n).x1;
    expect(v & 0xffn).toBe(48n);
    expect((v >> 32n) & 1n).toBe(1n);
    expect((v >> 33n) & 1n).toBe(1n);
    expect(v >> 42n).toBe(0n);
  });

  it.each([1n, 2n, 0x100n, U64_MAX])("index %s reads 0 and still succeeds", (i) => {
    const r = new Rig().ok(FID.FEATURES, i);
    expect(r.x1).toBe(0n);
  });
});

describe("RMI_GRANULE_DELEGATE / UNDELEGATE (§5.3)", () => {
  it("DELEGATE: NS -> DELEGATED in the Realm PAS; the NS world then faults on it; UNDELEGATE brings it back", () => {
    const h = new Rig();
    const a = h.page();
    h.p.ns.write(a + 16n, new Uint8Array([1, 2, 3]));
    h.ok(FID.GRANULE_DELEGATE, a);
    expect(h.p.granule(a)).toMatchObject({ state: "DELEGATED", pas: "REALM" });
    expect(() => h.p.ns.read(a, 4)).toThrow(GranuleProtectionFault);
    expect(() => h.p.ns.write(a, new Uint8Array(1))).toThrow(GranuleProtectionFault);
    h.ok(FID.GRANULE_UNDELEGATE, a);
    expect(h.p.granule(a)).toMatchObject({ state: "UNDELEGATED", pas: "NS" });
    // Delegation scrubs: the NS data written before is gone.
    expect([...h.p.ns.read(a + 16n, 3)]).toEqual([0, 0, 0]);
  });

  // Ordered failure conditions: each row makes its condition true with the earlier ones false.
  const delegateRows: [string, (h: Rig) => bigint][] = [
    ["gran_align: unaligned address", (h) => h.page() + 0x800n],
    ["gran_align: unaligned MMIO address (alignment is checked first)", () => MMIO + 8n],
    ["gran_bound: MMIO", () => MMIO],
    ["gran_bound: Secure DRAM", () => SECURE],
    ["gran_bound: not memory", () => NOT_MEMORY],
    ["gran_bound: just past DRAM", () => DRAM_END],
    ["gran_bound: above the PA width", () => 1n << 48n],
    ["gran_bound: huge aligned value", () => 0xffff_ffff_ffff_f000n],
    ["gran_state: already DELEGATED", (h) => h.delegated()],
  ];
  it.each(delegateRows)("DELEGATE fails with INPUT: %s, and changes nothing", (_, make) => {
    const h = new Rig();
    const a = make(h);
    const before = h.snapshot();
    h.expect(FID.GRANULE_DELEGATE, [a], INPUT);
    expect(h.snapshot()).toBe(before);
  });

  const undelegateRows: [string, (h: Rig) => bigint][] = [
    ["gran_align", (h) => h.delegated() + 8n],
    ["gran_bound: MMIO", () => MMIO],
    ["gran_bound: Secure", () => SECURE],
    ["gran_bound: outside PA", () => 1n << 50n],
    ["gran_state: UNDELEGATED", (h) => h.page()],
    ["gran_state: RD", (h) => h.realm().rd],
    ["gran_state: RTT (a root RTT)", (h) => h.realm().rtt],
  ];
  it.each(undelegateRows)("UNDELEGATE fails with INPUT: %s, and changes nothing", (_, make) => {
    const h = new Rig();
    const a = make(h);
    const before = h.snapshot();
    h.expect(FID.GRANULE_UNDELEGATE, [a], INPUT);
    expect(h.snapshot()).toBe(before);
  });

  it("works at both ends of DRAM", () => {
    const h = new Rig();
    h.ok(FID.GRANULE_DELEGATE, DRAM_BASE);
    h.ok(FID.GRANULE_DELEGATE, DRAM_END - G);
    h.ok(FID.GRANULE_UNDELEGATE, DRAM_END - G);
    h.ok(FID.GRANULE_UNDELEGATE, DRAM_BASE);
  });
});

describe("the SMC entry never throws; RMI failures are values", () => {
  it.each([0xc400_0156n, 0xc400_0160n, 0xc400_0163n, 0xc400_016an, 0xc400_0000n, 0x8400_0000n, 0n, U64_MAX])(
    "FID 0x%s without a handler returns SMC_UNKNOWN (-1) and nothing else changes",
    (fid) => {
      const h = new Rig();
      h.delegated();
      const before = h.snapshot();
      const x = h.p.smc(fid, 1n, 2n, 3n);
      expect(x[0]).toBe(U64_MAX);
      expect(x.length).toBe(5);
      expect(h.snapshot()).toBe(before);
    },
  );

  it("hostile register values give the RMM's status", () => {
    const h = new Rig();
    const cases: [bigint, bigint[], number][] = [
      [FID.GRANULE_DELEGATE, [-1n], INPUT], // wraps to 2^64 - 1 like an X register
      [FID.GRANULE_DELEGATE, [1n << 70n], INPUT], // bits above 63 are not in the register
      [FID.GRANULE_DELEGATE, [], INPUT], // missing registers read as 0
      [FID.REALM_CREATE, [U64_MAX, U64_MAX], INPUT],
      [FID.REALM_ACTIVATE, [0n], INPUT],
      [FID.RTT_CREATE, [U64_MAX, U64_MAX, U64_MAX, U64_MAX], INPUT],
      [FID.RTT_READ_ENTRY, [DRAM_BASE, -1n, -1n], INPUT],
      [FID.DATA_CREATE, [0n, 0n, 0n, 0n, 0n], INPUT],
      [FID.REC_ENTER, [U64_MAX, U64_MAX], INPUT],
      [FID.PSCI_COMPLETE, [0n, 0n, 0n], INPUT],
      [FID.RTT_SET_RIPAS, [0n, 0n, 0n, U64_MAX], INPUT],
    ];
    for (const [fid, args, status] of cases) {
      let x: bigint[] = [];
      expect(() => (x = h.p.smc(fid, ...args))).not.toThrow();
      expect(decode(x).status, `${fid.toString(16)}(${args.join(", ")})`).toBe(status);
    }
    // 0x1_0000_0000 + DRAM_BASE is not DRAM_BASE: a register is 64 bits, not 32.
    const r = h.smc(FID.GRANULE_DELEGATE, (1n << 32n) + DRAM_BASE);
    expect(r.status).toBe(INPUT);
    expect(h.p.granule(DRAM_BASE).state).toBe("UNDELEGATED");
    expect(h.smc(FID.GRANULE_DELEGATE, (1n << 64n) + DRAM_BASE).status).toBe(SUCCESS);
  });
});

describe("misuse of the TypeScript API throws an error naming the argument", () => {
  it("negative or missing arguments to p.rmi.*", () => {
    const h = new Rig();
    expect(() => h.p.rmi.granuleDelegate(-1n)).toThrow(/addr/);
    expect(() => (h.p.rmi.granuleDelegate as unknown as () => unknown)()).toThrow(/addr.*missing|missing.*addr/);
    expect(() => (h.p.rmi.rttCreate as unknown as (...a: bigint[]) => unknown)(DRAM_BASE, DRAM_BASE, 0n)).toThrow(/level/);
    expect(() => h.p.rmi.realmCreate(DRAM_BASE, "x" as unknown as bigint)).toThrow(/params/i);
  });

  it("bad addresses and lengths to p.ns.*", () => {
    const h = new Rig();
    expect(() => h.p.ns.read(-5n, 4)).toThrow(/pa/);
    expect(() => h.p.ns.read(DRAM_BASE, -1)).toThrow(/length/);
    expect(() => h.p.ns.write(-1n, new Uint8Array(1))).toThrow(/pa/);
    expect(() => h.p.ns.write(DRAM_BASE, [1, 2] as unknown as Uint8Array)).toThrow(/bytes/);
    expect(() => h.p.ns.read(undefined as unknown as bigint, 4)).toThrow(/pa/);
  });

  it("p.granule with a bad address", () => {
    const h = new Rig();
    expect(() => h.p.granule(-4096n)).toThrow(/pa/);
  });

  it("the error leaves the platform as it was", () => {
    const h = new Rig();
    h.delegated();
    const before = h.snapshot();
    expect(() => h.p.rmi.granuleUndelegate(-4096n)).toThrow();
    expect(h.snapshot()).toBe(before);
  });
});
