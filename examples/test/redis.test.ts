import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

const main = fileURLToPath(new URL("../src/redis/main.ts", import.meta.url))

describe("examples/redis", () => {
  it.live(
    "one publisher and two workers: every order handled once",
    () =>
      Effect.callback<{ code: number | null; out: string }>((resume) => {
        const child = spawn(process.execPath, [main, "20"], { stdio: ["ignore", "pipe", "inherit"] })
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
})
