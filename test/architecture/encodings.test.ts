/**
 * Issue 14: "one definition of each encoding". The PSCI function IDs and return codes
 * (src/arch/psci.ts), the ESR exception classes and syndrome fields (src/arch/esr.ts), the RIPAS
 * values (src/arch/ripas.ts) and the stage-2 start level ((ia_bits - 8) / 9, src/arch/geometry.ts
 * stage2_pgtable_levels) are written once, in src/arch; the guest, the RMM and the KVM model import
 * them; the RMI status codes are RmiStatus in src/rmm/status.ts (RMM spec B4.4), which the KVM
 * model may bind to the posted names (`RMI_SUCCESS = RmiStatus.RMI_SUCCESS`). This test fails on a
 * value written out a second time anywhere else in src/.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ESR_ELx_EC, ESR_ELx_EC_DABT_LOW, ESR_ELx_FSC_FAULT_L, ESR_ELx_FSC_PERM_L, hpfarFromIpa, ipaFromHpfar } from "../../src/arch/esr.js";
import { stage2_pgtable_levels } from "../../src/arch/geometry.js";
import { PSCI_RET_DENIED, PSCI_VERSION, psciRetFromReg, psciRetToReg } from "../../src/arch/psci.js";
import { ROOT, srcImportGraph } from "./graph.js";

/** `= <number>` (with an optional type annotation): a value written out, not taken from the one definition. */
const NUM = String.raw`(?:\s*:\s*\w+)?\s*=\s*-?(?:0x[0-9a-f_]+|\d[\d_]*)n?\b`;

const RULES: { what: string; re: RegExp }[] = [
  { what: "a PSCI function ID literal", re: /\b0x(?:8400_?00[01][0-9a-f]|c400_?00(?:0[1-9a-f]|1[0-9a-f]))n?\b/gi },
  { what: "a PSCI constant written out", re: new RegExp(String.raw`\b(?:const|let|var)\s+PSCI_\w+` + NUM, "gi") },
  { what: "an ESR exception class written out", re: new RegExp(String.raw`\b(?:const|let|var)\s+ESR_(?:ELx_)?EC_\w+` + NUM, "gi") },
  { what: "a RIPAS value written out", re: new RegExp(String.raw`\b(?:const|let|var)\s+(?:RMI_|RIPAS_)(?:EMPTY|RAM|DESTROYED)` + NUM + String.raw`|\benum\s+Ripas\b`, "gi") },
  { what: "an RMI status code written out", re: new RegExp(String.raw`\b(?:const|let|var)\s+RMI_(?:SUCCESS|ERROR_\w+|BUSY|INCOMPLETE|BLOCKED)` + NUM, "gi") },
  { what: "the stage-2 level count (ia_bits - 8) / 9", re: /\(\s*[\w.]*(?:ia_?bits|iaBits|ipaBits|ipa_bits)\s*-\s*8\s*\)\s*\/\s*9/gi },
];

describe("encodings are defined once, in src/arch", () => {
  it("no PSCI ID, ESR class, RIPAS value, RMI status or start-level formula written out a second time", async () => {
    const files = Object.keys(await srcImportGraph()).filter((f) => f.startsWith("src/") && !f.startsWith("src/arch/") && f !== "src/rmm/status.ts");
    const found: string[] = [];
    for (const f of files) {
      const lines = readFileSync(join(ROOT, f), "utf8").split("\n");
      lines.forEach((line, i) => {
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments may quote the posted code
        for (const r of RULES) for (const m of line.matchAll(r.re)) found.push(`${f}:${i + 1}: ${r.what}: ${m[0]}`);
      });
    }
    expect(found, `${found.length} value(s) written out again (import them from src/arch, or RmiStatus from src/rmm/status.ts):\n${found.join("\n")}\n`).toEqual([]);
  });

  it("the rules match what they are meant to find", () => {
    const hits = (s: string) => RULES.filter((r) => s.match(r.re) !== null).map((r) => r.what);
    expect(hits("const X = 0xc4000003n;")).toEqual(["a PSCI function ID literal"]);
    expect(hits("case 0x8400_0008n:")).toEqual(["a PSCI function ID literal"]);
    expect(hits("export const SMC64_STD_BASE = 0xc400_0000;")).toEqual([]);
    expect(hits("export const RSI_IPA_STATE_SET = 0xc400_0197n;")).toEqual([]);
    expect(hits("export const PSCI_0_2_FN_CPU_OFF = 0x84000002n;")).toEqual(["a PSCI function ID literal", "a PSCI constant written out"]);
    expect(hits("export const PSCI_COMMANDS: RmiCommand[] = [")).toEqual([]);
    expect(hits("const PSCI_RET_DENIED = -3;")).toEqual(["a PSCI constant written out"]);
    expect(hits("const PSCI_RET_DENIED: number = -3;")).toEqual(["a PSCI constant written out"]);
    expect(hits("const ESR_EC_DABT_LOW = 0x24;")).toEqual(["an ESR exception class written out"]);
    expect(hits("export const ESR_ELx_EC_DABT_LOW = 0x24n;")).toEqual(["an ESR exception class written out"]);
    expect(hits("export const RMI_EMPTY = 0;")).toEqual(["a RIPAS value written out"]);
    expect(hits("export enum Ripas {")).toEqual(["a RIPAS value written out"]);
    expect(hits("export const RMI_SUCCESS = 0;")).toEqual(["an RMI status code written out"]);
    expect(hits("export const RMI_ERROR_RTT = 4;")).toEqual(["an RMI status code written out"]);
    // a posted name bound to the one definition is not a second definition
    expect(hits("export const RMI_EMPTY = Ripas.EMPTY;")).toEqual([]);
    expect(hits("export const RMI_SUCCESS = RmiStatus.RMI_SUCCESS;")).toEqual([]);
    expect(hits("const ec = ESR_ELx_EC(esr);")).toEqual([]);
    expect(hits("const startLevel = 4 - Math.floor((iaBits - 8) / 9);")).toEqual(["the stage-2 level count (ia_bits - 8) / 9"]);
    expect(hits("return 4 - Math.floor((kvm.realm.iaBits - 8) / 9);")).toEqual(["the stage-2 level count (ia_bits - 8) / 9"]);
  });

  it("the single definitions encode what the Arm ARM, PSCI and Linux say", () => {
    // ESR_ELx_FSC_FAULT_L(n): 0x04 + n for 0..3, 0x2B for level -1 (FEAT_LPA2)
    expect([-1, 0, 1, 2, 3].map(ESR_ELx_FSC_FAULT_L)).toEqual([0x2bn, 0x04n, 0x05n, 0x06n, 0x07n]);
    expect(ESR_ELx_FSC_PERM_L(3)).toBe(0x0fn);
    expect(() => ESR_ELx_FSC_FAULT_L(4)).toThrow(RangeError);
    expect(ESR_ELx_EC(0x9200_0046n)).toBe(ESR_ELx_EC_DABT_LOW); // a data abort syndrome as KVM sees it
    expect(ipaFromHpfar(hpfarFromIpa(0x8_8000_3000))).toBe(0x8_8000_3000);
    expect(hpfarFromIpa(0x8000_1000)).toBe(0x80001n << 4n);
    expect(psciRetToReg(PSCI_RET_DENIED)).toBe(0xffff_ffff_ffff_fffdn);
    expect(psciRetFromReg(0xffff_ffff_ffff_fffdn)).toBe(PSCI_RET_DENIED);
    expect(PSCI_VERSION(1, 1)).toBe(0x1_0001);
    // get_start_level = 4 - stage2_pgtable_levels(ia_bits): 32..34 bits -> 2, 35..43 -> 1, 44..52 -> 0
    expect([32, 34, 35, 40, 43, 44, 48, 52].map((b) => 4 - stage2_pgtable_levels(b))).toEqual([2, 2, 1, 1, 1, 0, 0, 0]);
  });
});
