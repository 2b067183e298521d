/**
 * Headless Chromium from the system's `chromium` package, driven by
 * playwright-core (which downloads nothing), in a fresh profile directory
 * removed on close. `find` answers its path or `undefined` when it is not
 * installed.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium } from "playwright-core"

/** `CHROMIUM_PATH`, when set, is the only candidate (so a missing browser can be simulated). */
const candidates = process.env.CHROMIUM_PATH
  ? [process.env.CHROMIUM_PATH]
  : ["/usr/bin/chromium", "/usr/bin/chromium-browser"]

export const find = (): string | undefined => candidates.find((p) => existsSync(p))

export const launch = async (viewport = { width: 1280, height: 900 }): Promise<BrowserContext> => {
  const executablePath = find()
  if (executablePath === undefined) throw new Error("chromium not found (apt-get install -y chromium)")
  const profile = mkdtempSync(join(tmpdir(), "inspector-chromium-"))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport,
    deviceScaleFactor: 1,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
  context.on("close", () => rmSync(profile, { recursive: true, force: true }))
  return context
}
