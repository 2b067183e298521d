// A plain ES module, as an app without TypeScript would write it: the bus in
// Effect, then the Promise facade, from the installed tarballs.

import { Event, EventBus, Facade } from "@eventfabric/core"
import * as Plugins from "@eventfabric/plugins"
import * as Redis from "@eventfabric/redis"
import { Effect, Schema } from "effect"

const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
})

const seen = []
await Effect.runPromise(
  Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId)), { name: "seen" })
    yield* bus.publish(OrderPlaced, { orderId: "o-1", total: 42 })
    yield* bus.drain
  }).pipe(Effect.scoped, Effect.provide(EventBus.EventBus.layer()))
)
if (seen.join() !== "o-1") throw new Error(`EventBus delivered ${JSON.stringify(seen)}`)

const facade = await Facade.make(EventBus.EventBus.layer())
facade.on(OrderPlaced, async (e) => void seen.push(e.payload.orderId), { name: "facade" })
const result = await facade.emitAndWait(OrderPlaced, { orderId: "o-2", total: 7 })
await facade.close()
if (result.succeeded !== 1 || seen.join() !== "o-1,o-2") {
  throw new Error(`Facade: ${JSON.stringify({ succeeded: result.succeeded, seen })}`)
}

// Every packed package (the check writes their names), not only the ones above.
const { readFile } = await import("node:fs/promises")
const names = JSON.parse(await readFile(new URL("./packages.json", import.meta.url), "utf8"))
for (const [name, mod] of [
  ["@eventfabric/plugins", Plugins],
  ["@eventfabric/redis", Redis],
  ...(await Promise.all(names.map(async (n) => [n, await import(n)])))
]) {
  if (Object.keys(mod).length === 0) throw new Error(`${name} exports nothing`)
}

// From plain JavaScript nothing checks types: the facade refuses a wrong payload itself.
const refused = []
const checked = await Facade.make(EventBus.EventBus.layer(), { onError: (e) => refused.push(e._tag) })
checked.emit(OrderPlaced, { orderId: 2 })
await checked.close()
if (refused.join() !== "InvalidEvent") throw new Error(`a wrong payload from JavaScript: ${JSON.stringify(refused)}`)
try {
  await import("@eventfabric/core/internal/bus")
  throw new Error("@eventfabric/core/internal/* is importable")
} catch (error) {
  if (error.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw error
}
console.log(`ok ${process.version}`)
