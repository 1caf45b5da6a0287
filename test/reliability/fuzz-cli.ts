/**
 * `npm run fuzz -- --calls N --seed S [--rmm 1.0|2.0] [--episode N]`: a long run of the RMM
 * model-based fuzz (test/reliability/rmm-fuzz.ts), RMM 1.0 and 2.0 alternating per episode unless
 * --rmm is given. Progress on stderr; a failure prints the shrunk sequence as a script that
 * `realm run FILE --keep-going` replays, writes it to fuzz-failure-S.realm and exits 1.
 */
import { writeFileSync } from "node:fs";
import { fuzz, type Abi } from "./rmm-fuzz.js";

function usage(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\nusage: npm run fuzz -- --calls N --seed S [--rmm 1.0|2.0] [--episode N]\n`);
  process.exit(2);
}

const opts: { calls: number; seed: number; abi?: Abi; perEpisode?: number } = { calls: 1_000_000, seed: 1 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  const v = argv[i + 1];
  const int = (name: string, max: number): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) > max) usage(`${name} needs an integer 0..${max}`);
    i++;
    return Number(v);
  };
  if (a === "--calls") opts.calls = int("--calls", Number.MAX_SAFE_INTEGER);
  else if (a === "--seed") opts.seed = int("--seed", 0xffff_ffff);
  else if (a === "--episode") opts.perEpisode = Math.max(1, int("--episode", 10_000_000));
  else if (a === "--rmm") {
    if (v !== "1.0" && v !== "2.0") usage("--rmm is 1.0 or 2.0");
    opts.abi = v;
    i++;
  } else usage(`unknown option '${a.length > 40 ? `${a.slice(0, 32)}...` : a}'`);
}

let last = performance.now();
const rep = fuzz({
  ...opts,
  fullEvery: 1000,
  onEpisode: (done) => {
    const now = performance.now();
    if (now - last > 2000) {
      process.stderr.write(`fuzz: ${done}/${opts.calls} calls\n`);
      last = now;
    }
  },
});
const rate = rep.calls / (rep.ms / 1000);
process.stdout.write(`fuzz: ${rep.calls} calls in ${rep.episodes} episodes, ${(rep.ms / 1000).toFixed(1)} s (${Math.round(rate)} calls/s), seed ${opts.seed}${opts.abi ? `, RMM ${opts.abi}` : ""}\n`);
if (rep.failures.length > 0) {
  const f = rep.failures[0]!;
  const file = `fuzz-failure-${opts.seed}.realm`;
  writeFileSync(file, f.script);
  process.stdout.write(`FAILURE: ${f.message}\n--- ${file} (realm run ${file} --keep-going) ---\n${f.script}`);
  process.exit(1);
}
