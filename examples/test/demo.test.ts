import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "@effect/vitest"

const demo = fileURLToPath(new URL("../src/demo.ts", import.meta.url))

describe("demo", () => {
  it("runs to the end and prints balanced stats", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [demo], { timeout: 30_000 })
    expect(stdout).toContain("ALERT intrusion from 203.0.113.7")
    expect(stdout).toContain("publishAndWait: 2 succeeded, 1 failed")
    // user events; the failure reports are coalesced, so the system count and the report deliveries vary
    expect(stdout).toMatch(/published 2002 \(\+\d+ system\), dispatched \d+, dropped 0, evicted 0/)
    expect(stdout).toMatch(/deliveries: \d+ succeeded, 100 failed, 0 timed out, 0 queued, 0 in flight/)
    expect(stdout).toContain("  fraud        901 ok  100 failed")
  }, 40_000)
})
