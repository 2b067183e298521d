import { assert, describe, it } from "@effect/vitest"
import type { Stats } from "@eventfabric/core"
import { Sample } from "../src/index.ts"

const lane = (over: Partial<Stats.LaneStats> = {}): Stats.LaneStats => ({
  capacity: 100,
  strategy: "suspend",
  queued: 0,
  accepted: 0,
  dropped: 0,
  evicted: 0,
  dispatched: 0,
  discarded: 0,
  ...over
})

const deliveries = (over: Partial<Stats.DeliveryStats> = {}): Stats.DeliveryStats => ({
  total: 0,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  rejected: 0,
  overflowed: 0,
  interrupted: 0,
  deadLettered: 0,
  queued: 0,
  inFlight: 0,
  ...over
})

const stats = (over: Partial<Stats.Stats> & { subscriptions?: ReadonlyArray<unknown> } = {}): Stats.Stats =>
  ({
    published: 0,
    rejected: 0,
    deduplicated: 0,
    dropped: 0,
    accepted: 0,
    evicted: 0,
    dispatched: 0,
    unrouted: 0,
    discarded: 0,
    refused: 0,
    queued: 0,
    lanes: { critical: lane(), normal: lane(), low: lane() },
    deliveries: deliveries(),
    subscriptions: [],
    maxConcurrentHandlers: 100,
    closed: false,
    ...over
  }) as Stats.Stats

const extras: Sample.Extras = {
  seq: 1,
  handleTimes: new Map(),
  circuits: new Map(),
  dlq: undefined,
  transports: [],
  hidden: new Set(["@eventfabric/inspector"])
}

const sub = (name: string, over: Record<string, unknown> = {}) => ({
  ...deliveries(),
  name,
  concurrency: 1,
  mailbox: 64,
  ...over
})

describe("Sample", () => {
  it("turns two snapshots into per-second rates for the bus, each lane and each subscription", () => {
    const before = stats({
      published: 100,
      dispatched: 100,
      lanes: { critical: lane(), normal: lane({ accepted: 100, dispatched: 90, dropped: 2 }), low: lane() },
      deliveries: deliveries({ succeeded: 50, failed: 1 }),
      subscriptions: [sub("mailer", { succeeded: 50, failed: 1 })]
    })
    const now = stats({
      published: 300,
      dispatched: 300,
      lanes: {
        critical: lane(),
        normal: lane({ accepted: 300, dispatched: 290, dropped: 12, queued: 25 }),
        low: lane()
      },
      deliveries: deliveries({ succeeded: 150, failed: 5, timedOut: 2 }),
      subscriptions: [sub("mailer", { succeeded: 150, failed: 5, timedOut: 2, queued: 16 })]
    })
    const s = Sample.derive(now, 3_000, { stats: before, at: 1_000 }, extras)
    assert.strictEqual(s.point.published, 100)
    assert.strictEqual(s.point.succeeded, 50)
    assert.strictEqual(s.point.failed, 2)
    assert.strictEqual(s.point.timedOut, 1)
    const normal = s.lanes.find((l) => l.name === "normal")!
    assert.deepStrictEqual(normal.rates, { accepted: 100, dispatched: 100, dropped: 5, evicted: 0 })
    assert.strictEqual(normal.fill, 0.25)
    const mailer = s.subscriptions[0]!
    assert.deepStrictEqual(mailer.rates, { succeeded: 50, failed: 3 })
    assert.strictEqual(mailer.mailbox.fill, 0.25)
  })

  it("reports zero rates at the first sample, when there is nothing to compare with", () => {
    const s = Sample.derive(stats({ published: 500 }), 1_000, undefined, extras)
    assert.strictEqual(s.point.published, 0)
    assert.strictEqual(s.totals.published, 500)
  })

  it("hides the inspector's own subscription", () => {
    const s = Sample.derive(
      stats({ subscriptions: [sub("mailer"), sub("@eventfabric/inspector")] }),
      1,
      undefined,
      extras
    )
    assert.deepStrictEqual(
      s.subscriptions.map((x) => x.name),
      ["mailer"]
    )
  })

  it("shows mailbox strategy, keyed order and selector when the bus carries them, and dashes when not", () => {
    const s = Sample.derive(
      stats({
        subscriptions: [
          sub("keyed", {
            mailbox: { capacity: 32, strategy: "dropping" },
            keyed: true,
            selector: "orders.*",
            queued: 8,
            blocked: 3
          }),
          sub("plain")
        ]
      }),
      1,
      undefined,
      extras
    )
    const [keyed, plain] = s.subscriptions
    assert.deepStrictEqual(keyed!.mailbox, { capacity: 32, strategy: "dropping", queued: 8, fill: 0.25, blocked: 3 })
    assert.strictEqual(keyed!.keyed, true)
    assert.strictEqual(keyed!.selector, "orders.*")
    assert.strictEqual(plain!.mailbox.strategy, undefined)
    assert.strictEqual(plain!.mailbox.blocked, undefined)
    assert.strictEqual(plain!.keyed, undefined)
    assert.strictEqual(plain!.selector, undefined)
  })

  it("never answers a negative rate (a counter that went back, e.g. a subscription replaced)", () => {
    const s = Sample.derive(stats({ published: 10 }), 2_000, { stats: stats({ published: 50 }), at: 1_000 }, extras)
    assert.strictEqual(s.point.published, 0)
  })
})
