/**
 * Registers the scenario modules extra-*.ts with the catalogue (imported once by
 * src/scenarios/index.ts), so scenarios.list() covers S01..S33.
 */
import { registerScenario } from "./catalogue.js";
import { S17 } from "./extra-activation.js";
import { S18 } from "./extra-rec-partial.js";
import { S20 } from "./extra-ripas-top.js";
import { S21 } from "./extra-ripas-shared.js";
import { S22 } from "./extra-populate.js";
import { S26 } from "./extra-nvhe.js";
import { S27 } from "./extra-debug-load-put.js";
import { S30 } from "./extra-gmem-race.js";
import { S31 } from "./extra-ub-shift.js";
import { S32, S33 } from "./extra-notes.js";
import { S29 } from "./extra-tracking.js";

for (const s of [S17, S18, S20, S21, S22, S26, S27, S29, S30, S31, S32, S33]) registerScenario(s);
