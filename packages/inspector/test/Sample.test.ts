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
  abandoned: 0,
  deadLettered: 0,
  queued: 0,
  inFlight: 0,
  ...over
})

const stats = (over: Partial<Stats.Stats> = {}): Stats.Stats => ({
  published: 0,
  system: { published: 0, deliveries: 0, failures: 0 },
  failureRate: 0,
  cancelled: 0,
  waiting: 0,
  scheduled: { capacity: 10_000, pending: 0, total: 0, released: 0, cancelled: 0, overflowed: 0 },
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
})

const extras: Sample.Extras = {
  seq: 1,
  handleTimes: new Map(),
  circuits: new Map(),
  dlq: undefined,
  transports: [],
  hidden: new Set(["@eventfabric/inspector"])
}

const sub = (name: string, over: Partial<Stats.SubscriptionStats> = {}): Stats.SubscriptionStats => ({
  ...deliveries(),
  name,
  concurrency: 1,
  mailbox: 64,
  blocked: 0,
  selector: "orders.placed",
  keyed: false,
  mailboxes: {
    critical: { queued: 0, strategy: "suspend" },
    normal: { queued: 0, strategy: "suspend" },
    low: { queued: 0, strategy: "sliding" }
  },
  ...over
})

const mailboxes = (normal: number, strategy: Stats.LaneStats["strategy"]): Stats.SubscriptionStats["mailboxes"] => ({
  critical: { queued: 0, strategy },
  normal: { queued: normal, strategy },
  low: { queued: 0, strategy }
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
      subscriptions: [
        sub("mailer", { succeeded: 150, failed: 5, timedOut: 2, queued: 16, mailboxes: mailboxes(16, "suspend") })
      ]
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

  it("shows the bus's selector, keyed order, per-lane mailbox fill and strategy, and held deliveries", () => {
    const s = Sample.derive(
      stats({
        subscriptions: [
          sub("keyed", {
            mailbox: 32,
            mailboxes: mailboxes(8, "dropping"),
            keyed: true,
            concurrency: 4,
            selector: "orders.*",
            queued: 11,
            blocked: 3
          }),
          sub("plain", { concurrency: 2 })
        ]
      }),
      1,
      undefined,
      extras
    )
    const [keyed, plain] = s.subscriptions
    assert.strictEqual(keyed!.keyed, true)
    assert.strictEqual(keyed!.selector, "orders.*")
    assert.strictEqual(keyed!.mailbox.strategy, "dropping")
    assert.strictEqual(keyed!.mailbox.capacity, 32)
    assert.strictEqual(keyed!.mailbox.queued, 11)
    assert.strictEqual(keyed!.mailbox.fullest, 8)
    assert.strictEqual(keyed!.mailbox.fill, 0.25)
    assert.strictEqual(keyed!.mailbox.blocked, 3)
    assert.deepStrictEqual(
      keyed!.mailbox.lanes.map((l) => [l.name, l.queued, l.strategy]),
      [
        ["critical", 0, "dropping"],
        ["normal", 8, "dropping"],
        ["low", 0, "dropping"]
      ]
    )
    assert.strictEqual(plain!.keyed, false)
    assert.strictEqual(plain!.mailbox.strategy, "suspend (low: sliding)")
    assert.strictEqual(plain!.mailbox.blocked, 0)
  })

  it("never answers a negative rate (a counter that went back, e.g. a subscription replaced)", () => {
    const s = Sample.derive(stats({ published: 10 }), 2_000, { stats: stats({ published: 50 }), at: 1_000 }, extras)
    assert.strictEqual(s.point.published, 0)
  })
})
