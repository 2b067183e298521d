import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

const main = fileURLToPath(new URL("../src/redis/main.ts", import.meta.url))
// Set by the global setup (its own redis-server), or by the caller.
const url = process.env.EVENTFABRIC_REDIS_URL

describe.skipIf(url === undefined)("examples/redis", () => {
  it.live(
    "one publisher and two workers: every order handled once",
    () =>
      Effect.callback<{ code: number | null; out: string }>((resume) => {
        const child = spawn(process.execPath, [main, "20"], {
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, REDIS_URL: url }
        })
        child.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk))
        let out = ""
        child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
        child.on("exit", (code) => resume(Effect.succeed({ code, out })))
        return Effect.sync(() => child.kill("SIGKILL"))
      }).pipe(
        Effect.timeout("25 seconds"),
        Effect.map(({ code, out }) => {
          expect(code).toBe(0)
          expect(out).toContain("all 20 orders handled")
          const handled = out.split("\n").filter((l) => l.startsWith("handled "))
          expect(handled.length).toBe(20)
          return handled.length
        })
      ),
    30_000
  )

  it.live(
    "SIGTERM stops the orchestrator at once: exit 143, with what was handled so far",
    () =>
      Effect.callback<{ code: number | null; out: string }>((resume) => {
        const child = spawn(process.execPath, [main, "100000"], {
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, REDIS_URL: url }
        })
        let out = ""
        let signalled = false
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString()
          if (!signalled && out.includes("handled ")) {
            signalled = true
            child.kill("SIGTERM")
          }
        })
        child.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk))
        child.on("exit", (code) => resume(Effect.succeed({ code, out })))
        return Effect.sync(() => child.kill("SIGKILL"))
      }).pipe(
        Effect.timeout("25 seconds"),
        Effect.map(({ code, out }) => {
          expect(code).toBe(143)
          expect(out).toMatch(/stopped by SIGTERM: \d+\/100000 handled/)
          return code
        })
      ),
    30_000
  )
})

describe("examples/redis without Redis", () => {
  it.live(
    "with Redis unreachable it says so at once and exits 1",
    () =>
      Effect.callback<{ code: number | null; err: string }>((resume) => {
        const child = spawn(process.execPath, [main, "20"], {
          stdio: ["ignore", "ignore", "pipe"],
          env: { ...process.env, REDIS_URL: "redis://127.0.0.1:1" }
        })
        let err = ""
        child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()))
        child.on("exit", (code) => resume(Effect.succeed({ code, err })))
        return Effect.sync(() => child.kill("SIGKILL"))
      }).pipe(
        // "at once": well inside the 15 s the workers would otherwise be given
        Effect.timeout("10 seconds"),
        Effect.map(({ code, err }) => {
          expect(code).toBe(1)
          expect(err).toContain("Redis is unreachable at redis://127.0.0.1:1")
          return code
        })
      ),
    15_000
  )
})
