import { defineConfig } from "vitest/config"
import { projects } from "./vitest.workspace.ts"

export default defineConfig({
  test: {
    projects,
    // Logs of passing tests are noise; a failing test shows everything it logged.
    silent: "passed-only"
  }
})
