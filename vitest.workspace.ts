/**
 * The one list of test projects. `vitest.config.ts` imports it, because vitest 5
 * no longer reads a workspace file on its own.
 */
export const projects = [
  "packages/core",
  "packages/plugins",
  "packages/redis",
  "packages/bench",
  "packages/inspector",
  "examples"
]
