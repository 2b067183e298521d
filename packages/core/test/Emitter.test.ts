import { describe, expect, it } from "@effect/vitest"
import { Emitter, EventBus, Facade } from "../src/index.ts"

type Events = {
  "user.created": [id: string, name: string]
  tick: [n: number]
  error: [error: unknown]
}

describe("Emitter on the bus", () => {
  it("emit answers whether anyone listened; the listeners run after it returned", async () => {
    const e = await Emitter.make<Events>()
    const seen: Array<string> = []
    expect(e.emit("tick", 1)).toBe(false)
    e.on("user.created", (id, name) => void seen.push(`${id}:${name}`))
    expect(e.emit("user.created", "u-1", "Ada")).toBe(true)
    expect(seen).toEqual([]) // asynchronous on purpose
    await e.drain()
    expect(seen).toEqual(["u-1:Ada"])
    await e.close()
  })

  it("a throwing listener does not stop the others, is counted failed, and reaches the error listeners", async () => {
    const e = await Emitter.make<Events>({ name: "users" })
    const after: Array<number> = []
    const errors: Array<unknown> = []
    e.on("tick", () => {
      throw new Error("listener broke")
    })
    e.on("tick", (n) => void after.push(n))
    e.on("error", (error) => void errors.push(error))
    e.emit("tick", 7)
    await e.drain()
    expect(after).toEqual([7])
    expect(errors).toHaveLength(1)
    expect((errors[0] as Error).message).toBe("listener broke")
    const s = e.facade.stats()
    const tick = s.subscriptions.find((sub) => sub.name === "users:tick")
    expect(tick).toMatchObject({ failed: 1, succeeded: 0 })
    await e.close()
  })

  it("emitAndWait resolves once async listeners finished, with their failures", async () => {
    const e = await Emitter.make<Events>()
    let done = false
    e.on("tick", async () => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      done = true
    })
    e.on("tick", async () => {
      throw new Error("async failure")
    })
    const result = await e.emitAndWait("tick", 1)
    expect(done).toBe(true)
    expect(result.failed).toBe(1)
    expect(result.errors[0]?.message).toContain("async failure")
    const none = await e.emitAndWait("user.created", "u", "n")
    expect(none.deliveries).toEqual([])
    await e.close()
  })

  it("events of one name keep emit order", async () => {
    const e = await Emitter.make<Events>()
    const seen: Array<number> = []
    e.on("tick", (n) => void seen.push(n))
    for (let n = 0; n < 500; n++) e.emit("tick", n)
    await e.drain()
    expect(seen).toEqual(Array.from({ length: 500 }, (_, n) => n))
    await e.close()
  })

  it("several emitters can share one bus; closing one that does not own it leaves the bus running", async () => {
    const facade = await Facade.make(EventBus.EventBus.layer())
    const a = new Emitter.Emitter<Events>(facade, { name: "a" })
    const b = new Emitter.Emitter<Events>(facade, { name: "b" })
    const seen: Array<string> = []
    a.on("tick", () => void seen.push("a"))
    b.on("tick", () => void seen.push("b"))
    a.emit("tick", 1)
    b.emit("tick", 1)
    await a.close()
    expect(seen.sort()).toEqual(["a", "b"])
    expect(facade.isClosed()).toBe(false)
    await facade.close()
  })

  it("the event map types names and arguments", async () => {
    const e = await Emitter.make<Events>()
    // @ts-expect-error wrong argument type for "tick"
    e.on("tick", (n: string) => void n)
    // @ts-expect-error missing argument
    expect(() => e.emit("user.created", "only-id")).not.toThrow()
    await e.close()
  })
})
