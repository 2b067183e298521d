import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, realpathSync } from "node:fs"
import { connect, createServer } from "node:net"
import { delimiter, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const root = fileURLToPath(new URL("../..", import.meta.url))

/** The pnpm CLI running these tests (npm_execpath), else the first `pnpm` on PATH. */
const pnpmCli = (): string => {
  const execpath = process.env.npm_execpath
  if (execpath !== undefined && /pnpm/.test(execpath)) return execpath
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "pnpm")
    if (existsSync(candidate)) return realpathSync(candidate)
  }
  throw new Error("pnpm not found: run the tests with pnpm (npx -y pnpm@10 test)")
}

/** `pnpm <script>` as a user types it; pnpm's own process is the child. */
const pnpm = (script: string, env: Record<string, string>): ChildProcess => {
  const cli = pnpmCli()
  const [file, args] = /\.c?js$/.test(cli) ? [process.execPath, [cli, script]] : [cli, [script]]
  return spawn(file, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** Polls `condition` every 50 ms; false after `ms`. */
const eventually = async (condition: () => Promise<boolean>, ms: number) => {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return false
}

describe("examples stop on a signal sent to pnpm", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`pnpm example:http: ${signal} to pnpm stops the server`, async () => {
      const port = await freePort()
      const child = pnpm("example:http", { PORT: String(port), HOST: "127.0.0.1" })
      let output = ""
      child.stdout!.on("data", (chunk: Buffer) => (output += chunk))
      child.stderr!.on("data", (chunk: Buffer) => (output += chunk))
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
      try {
        expect(await eventually(() => listening(port), 20_000)).toBe(true)
        child.kill(signal) // pnpm alone, as a process manager or `kill <pid>` does
        await exited
        // the server itself is gone, not only pnpm
        expect(await eventually(async () => !(await listening(port)), 5_000)).toBe(true)
      } catch (error) {
        throw new Error(`${String(error)}\n--- output ---\n${output}`)
      } finally {
        child.kill("SIGKILL")
      }
    }, 30_000)
  }
})
