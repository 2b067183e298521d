/**
 * The one list of test projects: every `packages/<dir>` and `examples` with a
 * `vitest.config.ts`, so a new package's tests run without editing this file.
 * `vitest.config.ts` imports it, because vitest 5 no longer reads a workspace
 * file on its own.
 */
import { existsSync, readdirSync } from "node:fs"

export const projects = [...readdirSync("packages").map((dir) => `packages/${dir}`), "examples"].filter((dir) =>
  existsSync(`${dir}/vitest.config.ts`)
)
