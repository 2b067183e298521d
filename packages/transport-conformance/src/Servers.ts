/**
 * What every engine's tests need to run a server of their own: its binary,
 * a free loopback port, and a wait until it answers. Each engine's
 * `test/server.ts` starts its server with these.
 */
import type { ChildProcess } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { connect, createServer } from "node:net"
import { delimiter, join } from "node:path"

/** The named binary on PATH or in one of `extraDirs`, or undefined. */
export const findBinary = (name: string, extraDirs: ReadonlyArray<string>): string | undefined => {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), ...extraDirs]) {
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

/** A port nothing listens on now, on 127.0.0.1. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** True once something accepts a connection on 127.0.0.1:`port`. */
export const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** Waits up to 5 s for `child` to answer on `port`; fails naming `name` if it exits or never does. */
export const waitReachable = async (name: string, port: number, child: ChildProcess): Promise<void> => {
  for (let i = 0; i < 100; i++) {
    if (await reachable(port)) return
    if (child.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${name} did not start on 127.0.0.1:${port}`)
}
