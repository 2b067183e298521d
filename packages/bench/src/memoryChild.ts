/**
 * Child process of the memory scenario (run with --expose-gc): one
 * implementation, 5 subscriptions, closed-loop batches; heap after gc at
 * checkpoints, peak RSS at the end. Prints one JSON line.
 */
import { byName } from "./impls/index.ts"
import { closed } from "./scenarios/closed.ts"

const [name = "eventfabric", eventsArg = "300000", checkpointsArg = "6"] = process.argv.slice(2)
const events = Number(eventsArg)
const checkpoints = Math.max(2, Number(checkpointsArg))
const gc = globalThis.gc
if (gc === undefined) throw new Error("run with --expose-gc")

const BATCH = 5000
const mb = (bytes: number) => bytes / 1024 / 1024
const c = await closed(byName(name), 5)
await c.run(BATCH) // warm-up
gc()
const heap: Array<number> = [mb(process.memoryUsage().heapUsed)]
const per = Math.ceil(events / (checkpoints - 1) / BATCH) * BATCH
const started = performance.now()
let sent = 0
for (let k = 1; k < checkpoints; k++) {
  for (let i = 0; i < per; i += BATCH) await c.run(BATCH)
  sent += per
  gc()
  heap.push(mb(process.memoryUsage().heapUsed))
}
const seconds = (performance.now() - started) / 1000
await c.instance.close()
process.stdout.write(
  `${JSON.stringify({
    impl: name,
    events: sent,
    heapMB: heap,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    eventsPerSec: sent / seconds
  })}\n`
)
