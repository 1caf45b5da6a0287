/**
 * Lines of the command language for the command-language fuzz (command-fuzz.test.ts): mostly
 * valid commands with values that may be out of range, some malformed (junk words, unknown
 * commands and options, open quotes, 10,000-character tokens, control characters). Seeded.
 */
import { Rng } from "./rng.js";

const NAMES = ["a", "b", "r1", "big", "x"];
const SERIES = ["v8", "v10", "v12", "v13", "v14"];
const ADDRS = ["0x80000000", "0x80001000", "0x80100000", "0x801ff000", "0x80200000", "0x8080000000", "0x8080100000", "0", "0x1000", "2G", "0x7fffffff", "0xffffffffffffffff"];
const SIZES = ["4K", "8K", "2M", "1M", "0x1000", "0", "3K", "64K"];
/**
 * Raw RMI calls that read, or that the RMM refuses (unaligned, outside DRAM, wrong level): raw
 * calls that change state bypass the host model (`help smc`), after which its own code may fault
 * on a granule it believes free - a desync the user asked for, not a command-language defect.
 */
const RMI = ["VERSION 0x10000", "GRANULE_DELEGATE 0x88000010", "GRANULE_UNDELEGATE 0x1c000000", "RTT_READ_ENTRY rd 0x80000000 3", "RTT_CREATE rd 0x88001000 0x80000000 7", "FEATURES 0", "DATA_DESTROY rd 0x123", "RTT_FOLD rd 0x80000000 9", "GRANULE_RANGE_DELEGATE 0x88000000 0x88000000", "REC_AUX_COUNT rd", "RTT_READ_ENTRY rd 0x8080000000 2"];
const INJECT = ["RTT_CREATE RMI_ERROR_RTT 2", "alloc nth=3", "DATA_CREATE_UNKNOWN RMI_ERROR_INPUT", "RTT_CREATE RMI_SUCCESS", "RTT_CREATE RMI_INCOMPLETE", "bogus=1", '{"rmi":"RTT_CREATE","status":"RMI_ERROR_RTT","every":2}', "undelegate 0x80123000", "delegateRaced", "GRANULE_RANGE_DELEGATE RMI_BUSY count=2", "alloc nth=1 count=always"];
const JUNK = ["--", "-", "--count", "--count=", "''", '"', "'", "\\", "#", "0x", "1e9", "-1", "NaN", "∞", "\u0000", "\u0007", "ü", "--vcpu 999", "--mem 1T", "--ipa-bits 99", "--steps -3", "--live maybe", "--no-such"];

/** One line: mostly valid commands (with valid-looking but possibly out-of-range values), some garbage. */
export function line(r: Rng): string {
  const roll = r.int(100);
  const n = r.pick(NAMES);
  const a = r.pick(ADDRS);
  const sz = r.pick(SIZES);
  if (roll < 4) return `new ${n} --series ${r.pick(SERIES)} --mem ${r.pick(["2M", "4M", "16M"])} --vcpus ${1 + r.int(2)}`;
  if (roll < 6) return `new ${n}${r.int(2) ? " --mem 2M" : ""}`;
  if (roll < 9) return `use ${r.pick(NAMES)}`;
  if (roll < 10) return `destroy ${r.pick(NAMES)}`;
  if (roll < 25) return `touch ${a}${r.int(3) === 0 ? ` --count ${1 + r.int(40)}` : ""}${r.int(4) === 0 ? ` --stride ${sz}` : ""}${r.int(5) === 0 ? ` --${r.pick(["read", "write", "exec"])}` : ""}${r.int(8) === 0 ? ` --vcpu ${r.int(3)}` : ""}`;
  if (roll < 29) return `${r.pick(["share", "unshare"])} ${a} ${sz}`;
  // (bounded: every workload line stops within 40 steps)
  if (roll < 32) return `workload ${r.pick(["seq", "random", "boot", "share-cycle", "nope"])} ${r.pick(["--pages 16", "--pages 64 --seed 3", "--steps 10", "--rounds 1 --size 64K", "--size 8K", "--pages 0", ""])} --steps ${r.int(40)}`;
  if (roll < 37) return `inject ${r.pick(INJECT)}`;
  if (roll < 39) return r.pick(["faults", "faults clear", "faults nope"]);
  if (roll < 43) return `rtt ${r.int(2) ? a : ""}${r.int(3) === 0 ? ` --level ${r.int(5) - 1}` : ""}${r.int(3) === 0 ? ` --depth ${r.int(4)}` : ""}`;
  if (roll < 46) return `granule ${r.pick([...ADDRS, "0x88000000", "0x88000010"])}`;
  if (roll < 48) return r.pick(["acct", "ls", "chart", "chart --width 20", "chart --live off", "chart --live on", "trace --last 5", "trace --grep RTT --last 3", "seed", "help", "help touch", "help nope", "scenario list"]);
  if (roll < 53) return `smc ${r.pick(RMI)}${r.int(6) === 0 ? " 1" : ""}`;
  if (roll < 55) return `seed ${r.pick(["1", "7", "4294967295", "4294967296", "-1", "x", "99999999999999999999"])}`;
  if (roll < 56) return `save ${r.pick(["s.realm", "/nonexistent/dir/s.realm", ""])}`;
  if (roll < 58) return r.pick(["", "   ", "# a comment", "touch 0x80000000 # comment \\"]);
  if (roll < 60) return `${r.pick(["touch", "new", "inject", "smc", "rtt", "workload", "help"])} ${"Z".repeat(10_000)}`;
  // malformed: a valid command with junk appended or substituted, or plain junk
  const base = r.pick(["touch", "new", "share", "workload", "inject", "smc", "rtt", "granule", "destroy", "use", "chart", "seed", "xyzzy", "tuch", "ls"]);
  const words = [base];
  for (let k = r.int(4); k > 0; k--) words.push(r.pick([...JUNK, a, sz, n]));
  return words.join(" ");
}

/** `n` lines from seed `seed`. */
export function generateLines(n: number, seed: number): string[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => line(r));
}
