/** RMM 2.0 boot: global state INIT/ACTIVE, RMM_CONFIG_SET/GET, RMM_ACTIVATE, FEATURES, the command table. */
import { describe, expect, it } from "vitest";
import { Platform, SMC_UNKNOWN_FOR_TEST } from "./local.js";
import { encodeRmmConfig, featureRegisterV2 } from "../../src/index.js";
import { DRAM, G, NS_CFG, POOL, boot, ok, platform2 } from "./helpers.js";

const SECURE = 0x0600_0000n;

describe("RMM 2.0 global state", () => {
  it("only VERSION, FEATURES, RMM_CONFIG_SET/GET and RMM_ACTIVATE work before RMM_ACTIVATE", () => {
    const p = platform2();
    ok(p.rmi.version(0x2_0000n));
    expect(p.rmi.version(0x1_0000n)).toMatchObject({ status: "RMI_ERROR_INPUT", lower: 0x2_0000n, higher: 0x2_0000n });
    ok(p.rmi.features(0));
    ok(p.rmi.rmmConfigGet(NS_CFG));
    expect(p.rmi.granuleRangeDelegate(POOL, POOL + G).status).toBe("RMI_ERROR_GLOBAL");
    expect(p.rmi.realmCreate(POOL, NS_CFG).status).toBe("RMI_ERROR_GLOBAL");
    expect(p.rmi.opContinue(1, 0).status).toBe("RMI_ERROR_GLOBAL");
    expect(p.granule(POOL).state).toBe("UNDELEGATED");
    ok(p.rmi.rmmActivate());
    ok(p.rmi.granuleRangeDelegate(POOL, POOL + G));
  });

  it("RMM_CONFIG_SET failure conditions in order, then GLOBAL once active", () => {
    const p = platform2();
    p.ns.write(NS_CFG, encodeRmmConfig({ trackingRegionSize: 0, rmiGranuleSize: 0 }));
    const bad = NS_CFG + G;
    const table: [string, bigint, Uint8Array | undefined, string][] = [
      ["null pointer", 0n, undefined, "RMI_ERROR_INPUT"],
      ["unaligned", NS_CFG + 8n, undefined, "RMI_ERROR_INPUT"],
      ["MMIO", 0x1c00_0000n, undefined, "RMI_ERROR_INPUT"],
      ["secure memory", SECURE, undefined, "RMI_ERROR_INPUT"],
      ["16K granule", bad, encodeRmmConfig({ trackingRegionSize: 0, rmiGranuleSize: 1 }), "RMI_ERROR_INPUT"],
      ["unknown tracking size", bad, encodeRmmConfig({ trackingRegionSize: 7, rmiGranuleSize: 0 }), "RMI_ERROR_INPUT"],
    ];
    for (const [what, ptr, bytes, status] of table) {
      if (bytes) p.ns.write(ptr, bytes);
      expect(p.rmi.rmmConfigSet(ptr).status, what).toBe(status);
    }
    // A delegated (Realm PAS) config page: INPUT.
    ok(p.rmi.rmmActivate());
    ok(p.rmi.granuleRangeDelegate(POOL, POOL + G));
    expect(p.rmi.rmmConfigSet(POOL).status).toBe("RMI_ERROR_INPUT");
    expect(p.rmi.rmmConfigSet(NS_CFG).status).toBe("RMI_ERROR_GLOBAL");
    expect(p.rmi.rmmActivate().status).toBe("RMI_ERROR_GLOBAL");
  });

  it("RMM_CONFIG_GET writes the configuration in effect", () => {
    const p = platform2();
    p.ns.write(NS_CFG, new Uint8Array(4096).fill(0xff));
    expect(p.rmi.rmmConfigGet(NS_CFG + 0x10n).status).toBe("RMI_ERROR_INPUT");
    expect(p.rmi.rmmConfigGet(0n).status).toBe("RMI_ERROR_INPUT");
    ok(p.rmi.rmmConfigGet(NS_CFG));
    expect([...p.ns.read(NS_CFG, 17)]).toEqual([...new Array(16).fill(0), 0]);
  });

  it("startActive skips the boot sequence", () => {
    const p = platform2({ startActive: true });
    ok(p.rmi.granuleRangeDelegate(POOL, POOL + G));
    expect(p.rmi.rmmActivate().status).toBe("RMI_ERROR_GLOBAL");
  });
});

describe("RMM 2.0 command table", () => {
  it("has the v2.0 function IDs", () => {
    const p = platform2();
    const fids: Record<string, number> = {
      RMI_VERSION: 0x150, RMI_RTT_DATA_MAP_INIT: 0x153, RMI_REALM_ACTIVATE: 0x157, RMI_REALM_CREATE: 0x158,
      RMI_REALM_DESTROY: 0x159, RMI_REC_CREATE: 0x15a, RMI_REC_DESTROY: 0x15b, RMI_REC_ENTER: 0x15c,
      RMI_RTT_CREATE: 0x15d, RMI_RTT_DESTROY: 0x15e, RMI_RTT_READ_ENTRY: 0x161, RMI_PSCI_COMPLETE: 0x164,
      RMI_FEATURES: 0x165, RMI_RTT_FOLD: 0x166, RMI_RTT_INIT_RIPAS: 0x168, RMI_RTT_SET_RIPAS: 0x169,
      RMI_RMM_CONFIG_SET: 0x16e, RMI_RMM_CONFIG_GET: 0x1ec, RMI_GRANULE_RANGE_DELEGATE: 0x1f1,
      RMI_GRANULE_RANGE_UNDELEGATE: 0x1f2, RMI_RTT_DATA_MAP: 0x1f5, RMI_RTT_DATA_UNMAP: 0x1f6,
      RMI_RTT_UNPROT_MAP: 0x1fb, RMI_RTT_UNPROT_UNMAP: 0x1fc, RMI_REALM_TERMINATE: 0x201, RMI_RMM_ACTIVATE: 0x202,
      RMI_OP_CONTINUE: 0x203, RMI_OP_MEM_DONATE: 0x208, RMI_OP_MEM_RECLAIM: 0x209, RMI_OP_CANCEL: 0x20a,
      RMI_GRANULE_TRACKING_GET: 0x1e1, RMI_GPT_L1_CREATE: 0x1f3,
    };
    for (const [name, fnum] of Object.entries(fids)) expect(p.fid(name), name).toBe(0xc400_0000n + BigInt(fnum));
    expect(p.rmm.table.size).toBe(Object.keys(fids).length);
  });

  it("removed v1.0 commands answer SMC_UNKNOWN; the compatibility switch keeps the v13 ones", () => {
    const p = platform2({ startActive: true });
    for (const fnum of [0x151, 0x152, 0x154, 0x155, 0x15f, 0x162, 0x167]) {
      expect(p.smc(0xc400_0000n + BigInt(fnum), POOL)[0], fnum.toString(16)).toBe(SMC_UNKNOWN_FOR_TEST);
    }
    expect(p.granule(POOL).state).toBe("UNDELEGATED");
    const c = Platform.create({ rmm: "2.0", v1Compat: true, startActive: true });
    for (const name of ["RMI_RTT_MAP_UNPROTECTED", "RMI_RTT_UNMAP_UNPROTECTED", "RMI_REC_AUX_COUNT"]) expect(c.rmm.command(name)?.name).toBe(name);
    expect(c.rmm.command("RMI_GRANULE_DELEGATE")).toBeUndefined();
  });

  it("FEATURES: register 0 keeps bits [31:0]; register 1 has granule size, hashes, MAX_RECS_ORDER, PPS; 2..4 read 0", () => {
    const p = platform2();
    const r0 = p.rmi.features(0).value as bigint;
    expect(r0 >> 32n).toBe(0n);
    expect(r0 & 0xffn).toBe(48n);
    const r1 = p.rmi.features(1).value as bigint;
    expect(r1).toBe(1n | (1n << 3n) | (1n << 4n) | (1n << 5n) | (10n << 6n) | (5n << 14n));
    for (const i of [2, 3, 4, 5, 99]) expect(p.rmi.features(i).value).toBe(0n);
    expect(featureRegisterV2({ ...p.rmm.features, sha512: false, paBits: 52 }, 1n)).toBe(1n | (1n << 3n) | (1n << 4n) | (10n << 6n) | (6n << 14n));
  });

  it("boots as Linux v14 does", () => {
    const p = platform2();
    boot(p);
    expect(p.rmmTrace.slice(-2)).toEqual([`SMC_RMI_RMM_CONFIG_SET ${NS_CFG.toString(16)} > RMI_SUCCESS`, "SMC_RMI_RMM_ACTIVATE > RMI_SUCCESS 0"]);
    expect(DRAM).toBe(0x8000_0000n);
  });
});
