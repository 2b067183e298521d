import { describe, expect, it } from "@effect/vitest"
import { EventBus, Facade } from "../src/index.ts"
import { Task } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

describe("Facade under backpressure", () => {
  it("3,000 emits to 3 listeners that await a timer reach every listener, with default options", async () => {
    const bus = await Facade.make(EventBus.EventBus.layer())
    const counts = [0, 0, 0]
    const orders: Array<Array<number>> = [[], [], []]
    for (const i of [0, 1, 2]) {
      bus.on(
        Task,
        async (e) => {
          await sleep(0)
          counts[i]!++
          orders[i]!.push(e.payload.n)
        },
        { name: `listener-${i}` }
      )
    }
    for (let n = 0; n < 3_000; n++) bus.emit(Task, { n })
    await bus.drain()
    expect(counts).toEqual([3_000, 3_000, 3_000])
    for (const order of orders) expect(order).toEqual(Array.from({ length: 3_000 }, (_, n) => n))
    const stats = bus.stats()
    expect(stats.deliveries).toMatchObject({ total: 9_000, succeeded: 9_000, overflowed: 0 })
    expect(stats.dropped + stats.evicted).toBe(0)
    expectBalanced(stats)
    await bus.close()
  }, 30_000)
})
