import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "@effect/vitest"
import { EventBus } from "@eventfabric/core"
import { Effect } from "effect"
import { program } from "../src/basic.ts"

const basic = fileURLToPath(new URL("../src/basic.ts", import.meta.url))

describe("examples/basic", () => {
  it.effect(
    "the program's stats balance: 2 orders published (+ 1 handler_error counted apart), 3 succeeded, 1 failed",
    () =>
      Effect.gen(function* () {
        const stats = yield* program.pipe(Effect.provide(EventBus.EventBus.layer()))
        expect(stats.published).toBe(2) // two orders
        expect(stats.system.published).toBe(1) // the system.handler_error the failure raised
        expect(stats.deliveries).toMatchObject({ succeeded: 3, failed: 1, queued: 0, inFlight: 0 })
        expect(stats.unrouted).toBe(1)
      })
  )

  it("runs as a script and prints each step", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [basic], { timeout: 20_000 })
    expect(stdout).toContain("publish: accepted on lane normal")
    expect(stdout).toContain("publishAndWait: 1 succeeded, 1 failed (revenue=succeeded, payments=failed)")
    expect(stdout).toContain("revenue: 292")
    expect(stdout).toContain("stats: published 2 (+1 system), dispatched 3, deliveries 3 succeeded / 1 failed")
  }, 25_000)
})
