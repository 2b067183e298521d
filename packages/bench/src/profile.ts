/**
 * A profiling target: eventfabric, 5 subscriptions, closed loop, for a few
 * seconds. `node --cpu-prof --cpu-prof-dir=/tmp/prof packages/bench/src/profile.ts [seconds] [plugins]`
 * (`plugins`: run with the no-op plugin, to see the middleware path).
 */
import { eventfabric } from "./impls/eventfabric.ts"
import { Noop } from "./plugins.ts"
import { closed } from "./scenarios/closed.ts"

const seconds = Number(process.argv[2] ?? 5)
const c = await closed(eventfabric, 5, process.argv[3] === "plugins" ? { plugins: [Noop] } : undefined)
const started = performance.now()
let events = 0
while (performance.now() - started < seconds * 1000) {
  await c.run(2000)
  events += 2000
}
await c.instance.close()
process.stdout.write(`${Math.round(events / seconds)} ev/s\n`)
