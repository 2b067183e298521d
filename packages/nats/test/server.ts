/**
 * A nats-server of the tests' own, on a free loopback port with JetStream
 * file storage in a temp dir: started by the global setup for the suite, and
 * by the restart test for itself (the shared server is never touched).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findBinary, freePort, waitReachable } from "@eventfabric/transport-conformance/Servers"

export const ENV_URL = "EVENTFABRIC_NATS_URL"

/** The nats-server binary on PATH (or in /usr/sbin, /usr/local/sbin), or undefined. */
export const natsBinary = (): string | undefined => findBinary("nats-server", ["/usr/sbin", "/usr/local/sbin"])

export interface NatsServer {
  readonly url: string
  readonly port: number
  readonly storeDir: string
  /** Stops the server (SIGTERM: a clean shutdown; SIGKILL: a crash). */
  readonly stop: (signal?: NodeJS.Signals) => Promise<void>
  /** Starts it again on the same port and store. */
  readonly start: () => Promise<void>
  /** Stops it and deletes its store. */
  readonly dispose: () => Promise<void>
}

export const startNats = async (binary: string): Promise<NatsServer> => {
  const port = await freePort()
  const storeDir = mkdtempSync(join(tmpdir(), "eventfabric-nats-"))
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(binary, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], { stdio: "ignore" })
    await waitReachable("nats-server", port, child)
  }
  const stop = (signal: NodeJS.Signals = "SIGTERM") =>
    new Promise<void>((resolve) => {
      const c = child
      if (c === undefined || c.exitCode !== null) return resolve()
      c.once("exit", () => resolve())
      c.kill(signal)
    })
  // A test worker that exits without running its finalizers must not leave the server behind.
  const orphan = () => child?.kill("SIGKILL")
  process.once("exit", orphan)
  await start()
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    stop,
    start,
    dispose: async () => {
      process.off("exit", orphan)
      await stop()
      rmSync(storeDir, { recursive: true, force: true })
    }
  }
}
