/**
 * Registers the scenario modules extra-*.ts with the catalogue (imported once by
 * src/scenarios/index.ts), so scenarios.list() covers S01..S33.
 */
import { registerScenario } from "./catalogue.js";
import { S17 } from "./extra-activation.js";
import { S18 } from "./extra-rec-partial.js";
import { S20 } from "./extra-ripas-top.js";
import { S21 } from "./extra-ripas-shared.js";

for (const s of [S17, S18, S20, S21]) registerScenario(s);
