import { describe, expect, it } from "vitest";
import { createSession } from "../../src/commands/index.js";

describe("createSession() runs on the real host model", () => {
  it("creates a realm with no set-up", async () => {
    const s = createSession();
    const r = await s.run("new r1 --series v10 --mem 8M");
    expect(r.ok).toBe(true);
    expect(r.value).toMatchObject({ series: "v10", state: "ACTIVE" });
  });
});
