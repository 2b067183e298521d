import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "nats",
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
