/**
 * A redis-server for the examples' tests: started on a free loopback port with
 * a temp dir and no persistence, its URL passed on in EVENTFABRIC_REDIS_URL
 * (an URL already set there is used as it is; the shared server on 6379 is
 * never touched). Without a redis-server binary the Redis example's test is
 * skipped with one line, except under CI=true, where that is a failure.
 */
import { spawn } from "node:child_process"
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs"
import { connect, createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"

export const ENV_URL = "EVENTFABRIC_REDIS_URL"

const binary = (): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, "redis-server"), constants.X_OK)
      return join(dir, "redis-server")
    } catch {}
  }
  return undefined
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

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

export default async function setup() {
  if (process.env[ENV_URL]) return
  const redis = binary()
  if (redis === undefined) {
    const line =
      "redis-server not found on PATH: skipping the Redis example (install Redis, or set EVENTFABRIC_REDIS_URL)"
    if (process.env.CI === "true") throw new Error(`${line}; under CI=true that is a failure`)
    console.warn(`[examples] ${line}`)
    return
  }
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "eventfabric-examples-redis-"))
  const child = spawn(redis, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""], {
    stdio: "ignore"
  })
  for (let i = 0; i < 100 && !(await answers(port)); i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  process.env[ENV_URL] = `redis://127.0.0.1:${port}`
  return () => {
    child.kill("SIGKILL")
    rmSync(dir, { recursive: true, force: true })
  }
}
