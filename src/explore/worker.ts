/** A worker thread of `explore({workers: N})`: records each posting once, then runs the batches of points it is sent. */
import { parentPort, workerData } from "node:worker_threads";
import { record, runPoint, workloadOf, type CampaignSpec, type Recording } from "./campaign.js";

const spec = (workerData as { spec: CampaignSpec }).spec;
const workload = workloadOf(spec);
const recs = new Map<number, Recording>();

parentPort!.on("message", (m: { batch: { series: number; k: number }[] }) => {
  try {
    const results = m.batch.map(({ series, k }) => {
      let rec = recs.get(series);
      if (rec === undefined) recs.set(series, (rec = record(spec, spec.series[series]!, workload)));
      return runPoint(rec, rec.points[k]!, spec);
    });
    parentPort!.postMessage({ results });
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
});
