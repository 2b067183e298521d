/**
 * A nats-server of the tests' own, on a free loopback port with JetStream
 * file storage in a temp dir: started by the global setup for the suite, and
 * by the restart test for itself (the shared server is never touched).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs"
import { connect, createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"

export const ENV_URL = "EVENTFABRIC_NATS_URL"

/** The nats-server binary on PATH (or in /usr/sbin), or undefined. */
export const natsBinary = (): string | undefined => {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"]
  for (const dir of dirs) {
    const candidate = join(dir, "nats-server")
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

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
    for (let i = 0; i < 100; i++) {
      if (await reachable(port)) return
      if (child.exitCode !== null) break
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`nats-server did not start on 127.0.0.1:${port}`)
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
