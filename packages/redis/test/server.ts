/**
 * A redis-server of the tests' own, on a free loopback port with a temp dir:
 * started by the global setup for the suite, and by the restart tests for
 * themselves with the persistence they test (the shared server is never
 * touched).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findBinary, freePort, waitReachable } from "@eventfabric/transport-conformance/Servers"

export const ENV_URL = "EVENTFABRIC_REDIS_URL"

/** The redis-server binary on PATH (or in /usr/bin, /usr/local/bin), or undefined. */
export const redisBinary = (): string | undefined => findBinary("redis-server", ["/usr/bin", "/usr/local/bin"])

export interface RedisServer {
  readonly url: string
  readonly port: number
  /** Stops the server (SIGKILL: a crash, nothing saved on the way out). */
  readonly stop: (signal?: NodeJS.Signals) => Promise<void>
  /** Starts it again on the same port and dir (so with what it persisted). */
  readonly start: () => Promise<void>
  readonly dispose: () => Promise<void>
}

/** Persistence off unless `args` turn it on (e.g. `["--appendonly", "yes"]`). */
export const startRedis = async (binary: string, args: ReadonlyArray<string> = []): Promise<RedisServer> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "eventfabric-redis-"))
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(
      binary,
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", ...args],
      // Its own process group: a crash test kills the group, so a fork Redis made (an AOF rewrite) dies too.
      { stdio: "ignore", detached: true }
    )
    await waitReachable("redis-server", port, child)
  }
  const stop = (signal: NodeJS.Signals = "SIGKILL") =>
    new Promise<void>((resolve) => {
      const c = child
      if (c === undefined || c.exitCode !== null) return resolve()
      c.once("exit", () => resolve())
      process.kill(-c.pid!, signal)
    })
  // A test worker that exits without running its finalizers must not leave the server behind.
  const orphan = () => {
    if (child?.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGKILL")
  }
  process.once("exit", orphan)
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    dispose: async () => {
      process.off("exit", orphan)
      await stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
