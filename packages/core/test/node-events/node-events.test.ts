/**
 * Cases of Node's own `events` test suite, re-expressed against `Emitter`.
 * Which Node file each case comes from, and what differs on purpose, is in
 * README.md beside this file. Node runs listeners inside `emit`; here they
 * run on the bus, so each case awaits `drain()` where Node looks right away.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Emitter } from "../../src/index.ts"

const open: Array<Emitter.Emitter<any>> = []
const make = async <E extends Emitter.EventMap = Emitter.EventMap>() => {
  const e = await Emitter.make<E>()
  open.push(e)
  return e
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()))
})

const calls = () => {
  const seen: Array<ReadonlyArray<unknown>> = []
  const listener = (...args: ReadonlyArray<unknown>) => void seen.push(args)
  return { seen, listener }
}

describe("node events: once (emitter-once)", () => {
  it("a once listener runs once however often the event is emitted", async () => {
    const e = await make()
    const { seen, listener } = calls()
    e.once("hello", listener)
    for (let i = 0; i < 4; i++) e.emit("hello", "a", "b")
    await e.drain()
    expect(seen).toEqual([["a", "b"]])
  })

  it("a once listener removed before the emit is not called", async () => {
    const e = await make()
    const { seen, listener } = calls()
    e.once("foo", listener)
    e.removeListener("foo", listener)
    expect(e.emit("foo")).toBe(false)
    await e.drain()
    expect(seen).toEqual([])
  })

  it("a once listener that re-emits its event does not run again, and the next once listener still runs", async () => {
    const e = await make()
    const order: Array<string> = []
    e.once("e", () => {
      order.push("first")
      e.emit("e")
    })
    e.once("e", () => void order.push("second"))
    e.emit("e")
    await e.drain()
    expect(order).toEqual(["first", "second"])
  })

  it("every number of arguments reaches a once listener unchanged", async () => {
    for (let n = 0; n <= 4; n++) {
      const e = await make()
      const { seen, listener } = calls()
      const args = Array.from({ length: n }, (_, i) => i)
      e.once("foo", listener)
      e.emit("foo", ...args)
      await e.drain()
      expect(seen).toEqual([args])
    }
  })
})

describe("node events: prepend (emitter-prepend)", () => {
  it("prependOnceListener runs first, prependListener second, on last", async () => {
    const e = await make()
    const order: Array<string> = []
    e.on("foo", () => void order.push("on"))
    e.prependListener("foo", () => void order.push("prepend"))
    e.prependOnceListener("foo", () => void order.push("prependOnce"))
    e.emit("foo")
    await e.drain()
    expect(order).toEqual(["prependOnce", "prepend", "on"])
  })
})

describe("node events: removeListener (emitter-remove-listeners)", () => {
  const listener1 = () => {}
  const listener2 = () => {}

  it("removing a listener emits removeListener with its name and function", async () => {
    const e = await make()
    const { seen, listener } = calls()
    e.on("hello", listener1)
    e.on("removeListener", listener)
    e.removeListener("hello", listener1)
    expect(e.listeners("hello")).toEqual([])
    await e.drain()
    expect(seen).toEqual([["hello", listener1]])
  })

  it("removing a listener that was never added changes nothing and announces nothing", async () => {
    const e = await make()
    const { seen, listener } = calls()
    e.on("hello", listener1)
    e.on("removeListener", listener)
    e.removeListener("hello", listener2)
    expect(e.listeners("hello")).toEqual([listener1])
    await e.drain()
    expect(seen).toEqual([])
  })

  it("a listener removed by an earlier listener during an emit still runs for that emit, not the next", async () => {
    const e = await make()
    let three = 0
    let four = 0
    const listener4 = () => void four++
    e.on("hello", () => {
      three++
      e.removeListener("hello", listener4)
    })
    e.on("hello", listener4)
    e.emit("hello")
    await e.drain()
    e.emit("hello")
    await e.drain()
    expect([three, four]).toEqual([2, 1])
  })

  it("an emitted once listener is announced as removed", async () => {
    const e = await make()
    const { seen, listener } = calls()
    e.once("hello", listener1)
    e.on("removeListener", listener)
    e.emit("hello")
    await e.drain()
    expect(seen).toEqual([["hello", listener1]])
  })

  it("removeListener returns the emitter, and re-adding puts a listener last", () => {
    return make().then((e) => {
      expect(e.removeListener("foo", () => {})).toBe(e)
      e.on("foo", listener1)
      e.on("foo", listener2)
      e.removeListener("foo", listener1)
      e.on("foo", listener1)
      expect(e.listeners("foo")).toEqual([listener2, listener1])
    })
  })
})

describe("node events: removeAllListeners (emitter-remove-all-listeners)", () => {
  it("removes one name's listeners, announcing each, and leaves earlier listeners() arrays untouched", async () => {
    const e = await make()
    const noop = () => {}
    e.on("foo", noop)
    e.on("bar", noop)
    e.on("baz", noop)
    e.on("baz", noop)
    const bar = e.listeners("bar")
    const baz = e.listeners("baz")
    const names: Array<unknown> = []
    e.on("removeListener", (name) => void names.push(name))
    e.removeAllListeners("bar")
    e.removeAllListeners("baz")
    expect(e.listeners("foo")).toEqual([noop])
    expect(e.listeners("bar")).toEqual([])
    expect(e.listeners("baz")).toEqual([])
    expect(bar).toEqual([noop])
    expect(baz).toEqual([noop, noop])
    await e.drain()
    expect(names.sort()).toEqual(["bar", "baz", "baz"])
  })

  it("without a name removes everything, removeListener listeners last and newest first", async () => {
    const e = await make()
    e.on("foo", () => {})
    e.on("bar", () => {})
    const first: Array<unknown> = []
    const second: Array<unknown> = []
    e.on("removeListener", (name) => void first.push(name))
    e.on("removeListener", (name) => void second.push(name))
    e.removeAllListeners()
    expect(e.eventNames()).toEqual([])
    await e.drain()
    expect(first.sort()).toEqual(["bar", "foo", "removeListener"])
    expect(second.sort()).toEqual(["bar", "foo"])
  })

  it("returns the emitter and handles symbol names", async () => {
    const e = await make()
    const symbol = Symbol("symbol")
    const noop = () => {}
    e.on(symbol, noop)
    const seen: Array<ReadonlyArray<unknown>> = []
    e.on("removeListener", (...args) => void seen.push(args))
    expect(e.removeAllListeners()).toBe(e)
    await e.drain()
    expect(seen).toContainEqual([symbol, noop])
  })
})

describe("node events: listenerCount, eventNames, special names", () => {
  it("counts listeners per name (emitter-listener-count)", async () => {
    const e = await make()
    const twice = () => {}
    e.on("foo", () => {})
    e.on("foo", twice)
    e.on("foo", twice)
    e.on("baz", () => {})
    expect(e.listenerCount("foo")).toBe(3)
    expect(e.listenerCount("foo", twice)).toBe(2)
    expect(e.listenerCount("bar")).toBe(0)
    expect(e.listenerCount("baz")).toBe(1)
  })

  it("names like __proto__ and toString are ordinary names (emitter-special-event-names)", async () => {
    const e = await make()
    const handler = () => {}
    expect(e.eventNames()).toEqual([])
    e.on("__proto__", handler)
    e.on("__defineGetter__", handler)
    e.on("toString", handler)
    expect(e.eventNames()).toEqual(["__proto__", "__defineGetter__", "toString"])
    expect(e.listeners("__proto__")).toEqual([handler])
    const { seen, listener } = calls()
    e.on("__proto__", listener)
    e.emit("__proto__", 1)
    await e.drain()
    expect(seen).toEqual([[1]])
  })
})

describe("node events: modifying listeners during an emit (emitter-modify-in-emit)", () => {
  it("listeners added during an emit run from the next one; removed ones from the next one too", async () => {
    const e = await make()
    const called: Array<string> = []
    function callback1() {
      called.push("callback1")
      e.on("foo", callback2)
      e.on("foo", callback3)
      e.removeListener("foo", callback1)
    }
    function callback2() {
      called.push("callback2")
      e.removeListener("foo", callback2)
    }
    function callback3() {
      called.push("callback3")
      e.removeListener("foo", callback3)
    }
    e.on("foo", callback1)
    expect(e.listeners("foo").length).toBe(1)
    e.emit("foo")
    await e.drain()
    expect(e.listeners("foo").length).toBe(2)
    expect(called).toEqual(["callback1"])
    e.emit("foo")
    await e.drain()
    expect(e.listeners("foo").length).toBe(0)
    expect(called).toEqual(["callback1", "callback2", "callback3"])
    expect(e.emit("foo")).toBe(false)
  })
})

describe("node events: the error rule (emitter-errors, no-error-provided-to-error-event)", () => {
  it("emit('error') with no error listener throws: the Error itself, or ERR_UNHANDLED_ERROR for other values", async () => {
    const e = await make()
    const boom = new Error("boom")
    expect(() => e.emit("error", boom)).toThrow(boom)
    expect(() => e.emit("error", "Accepts a string")).toThrow(
      expect.objectContaining({ code: "ERR_UNHANDLED_ERROR", message: "Unhandled error. ('Accepts a string')" })
    )
    expect(() => e.emit("error")).toThrow(expect.objectContaining({ code: "ERR_UNHANDLED_ERROR" }))
  })

  it("with an error listener, emit('error') delivers and does not throw", async () => {
    const e = await make()
    const { seen, listener } = calls()
    e.on("error", listener)
    expect(e.emit("error", 42)).toBe(true)
    await e.drain()
    expect(seen).toEqual([[42]])
  })

  it("a listener that is not a function is refused with ERR_INVALID_ARG_TYPE (emitter-invalid-listener)", async () => {
    const e = await make()
    expect(() => e.on("foo", null as never)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }))
  })
})

describe("node events: newListener (emitter-add-listeners)", () => {
  it("adding a listener announces its name and function, not the newListener listeners themselves", async () => {
    const e = await make()
    const names: Array<unknown> = []
    const fns: Array<unknown> = []
    e.on("newListener", (name, fn) => {
      if (name === "newListener") return
      names.push(name)
      fns.push(fn)
    })
    const hello = () => {}
    const foo = () => {}
    e.on("hello", hello)
    e.once("foo", foo)
    await e.drain()
    expect(names).toEqual(["hello", "foo"])
    expect(fns).toEqual([hello, foo])
  })
})

describe("node events: this and subclasses (emitter-emit-context, emitter-subclass)", () => {
  it("a listener's this is the emitter, and a subclass works like the class", async () => {
    class Clock extends Emitter.Emitter<{ tick: [n: number] }> {
      ticks = 0
    }
    const base = await make<{ tick: [n: number] }>()
    const clock = new Clock(base.facade)
    let self: unknown
    clock.on("tick", function (this: unknown, n) {
      self = this
      ;(this as Clock).ticks += n
    })
    clock.emit("tick", 2)
    await clock.drain()
    expect(self).toBe(clock)
    expect(clock.ticks).toBe(2)
  })
})
