/**
 * Finds redis-server and starts one for this test project on a free loopback
 * port (no persistence, temp dir), passing its URL on in
 * EVENTFABRIC_REDIS_URL. An URL already set there is used as it is. Without a
 * binary the Redis suites skip with one line, except under CI=true, where
 * that is a failure.
 */
import { ENV_URL, redisBinary, startRedis } from "./server.ts"

export default async function setup() {
  if (process.env[ENV_URL]) return
  const binary = redisBinary()
  if (binary === undefined) {
    if (process.env.CI === "true") throw new Error("redis-server not found on PATH: the Redis tests need it under CI")
    console.warn("[redis] redis-server not found on PATH: skipping the Redis transport tests")
    return
  }
  const server = await startRedis(binary)
  process.env[ENV_URL] = server.url
  return () => server.dispose()
}
