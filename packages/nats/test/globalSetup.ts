/**
 * Finds nats-server and starts one for this test project on a free loopback
 * port (JetStream, file storage in a temp dir), passing its URL on in
 * EVENTFABRIC_NATS_URL. An URL already set there is used as it is. Without a
 * binary the NATS suites skip with one line, except under CI=true, where that
 * is a failure.
 */
import { ENV_URL, natsBinary, startNats } from "./server.ts"

export default async function setup() {
  if (process.env[ENV_URL]) return
  const binary = natsBinary()
  if (binary === undefined) {
    if (process.env.CI === "true") throw new Error("nats-server not found on PATH: the NATS tests need it under CI")
    console.warn("[nats] nats-server not found on PATH: skipping the NATS transport tests")
    return
  }
  const server = await startNats(binary)
  process.env[ENV_URL] = server.url
  return () => server.dispose()
}
