/** `scenarios.list()` / `scenarios.run(id, {series})` (design.md contract). */
export { list, run, type ScenarioResult, type ScenarioInfo, type ScenarioOutcome } from "./catalogue.js";
import "./extra.js"; // registers the extra-*.ts scenario modules (S17..S33)
