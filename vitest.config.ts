import { existsSync } from "node:fs"
import { defineConfig } from "vitest/config"
import { projects } from "./vitest.workspace.ts"

export default defineConfig({
  test: {
    projects: projects.filter((dir) => existsSync(`${dir}/vitest.config.ts`)),
    // Logs of passing tests are noise; a failing test shows everything it logged.
    silent: "passed-only"
  }
})
