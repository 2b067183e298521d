/**
 * `pnpm inspect` as a process: it prints the URL, serves the page while a
 * browser holds a live stream open, and stops cleanly on SIGINT and SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"

const demo = fileURLToPath(new URL("../demo.ts", import.meta.url))
// The workspace pins Node 24 (type stripping); vitest may run under another.
// The binary itself, not the `.bin` shell shim, so the signal reaches the demo.
const pinned = fileURLToPath(new URL("../../../node_modules/node/bin/node", import.meta.url))
const node = existsSync(pinned) ? pinned : process.execPath

const start = () =>
  new Promise<{ child: ChildProcess; url: string; output: () => string }>((resolve, reject) => {
    const child = spawn(node, [demo], { env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const found = /inspector: (http:\/\/\S+)/.exec(output)
      if (found) resolve({ child, url: found[1]!, output: () => output })
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.on("exit", (code) => reject(new Error(`demo exited early (${code}):\n${output}`)))
  })

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )

describe("pnpm inspect", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`prints its URL and token, serves the page, and stops on ${signal} with a stream still open`, async () => {
      const { child, url, output } = await start()
      try {
        assert.match(output(), /token \(for retry \/ purge\): \S+/)
        const page = await fetch(url)
        assert.strictEqual(page.status, 200)
        const stream = await fetch(new URL("api/stream", url))
        const reader = stream.body!.getReader()
        await reader.read()
        const done = exited(child)
        child.kill(signal)
        const result = await Promise.race([done, new Promise<"hung">((r) => setTimeout(() => r("hung"), 15_000))])
        assert.notStrictEqual(result, "hung", `the demo did not stop on ${signal}:\n${output()}`)
        // It handled the signal and exited 0 (finalizers run), rather than being killed by it.
        assert.deepStrictEqual(result, { code: 0, signal: null })
        assert.notInclude(output(), "Error")
        await reader.cancel().catch(() => undefined)
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      }
    })
  }
})
