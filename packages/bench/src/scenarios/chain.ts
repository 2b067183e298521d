/**
 * Suspend chain: one slow subscriber (each delivery waits `consumerMs`) on a
 * `suspend` lane, with the default mailbox strategy (small capacities keep
 * the run short). A publisher offers events as fast as the bus takes them.
 * With backpressure end to end the publisher's rate follows the consumer's
 * (ratio ~1) and nothing is lost; a bus that refuses deliveries instead
 * shows a publisher far ahead and the losses counted.
 */
import type { Profile } from "../config.ts"
import { eventfabric } from "../impls/eventfabric.ts"
import type { Payload } from "../impls/types.ts"
import type { Row } from "../result.ts"
import type { Ctx } from "../runner.ts"

interface ChainJob {
  readonly scenario: "chain"
  readonly consumerMs: ReadonlyArray<number>
  readonly laneCapacity: number
  readonly mailboxCapacity: number
  readonly durationMs: number
  readonly windowFromMs: number
}

interface ChainResult {
  readonly consumerMs: number
  readonly publisherRate: number
  readonly consumerRate: number
  readonly lost: number
  readonly published: number
  readonly handled: number
  readonly mailboxApplied: string | undefined
}

/** Outstanding publishes kept in front of the bus: enough that the publisher never starves. */
const OUTSTANDING = 1024
const nextTurn = () => new Promise<void>((r) => setImmediate(r))

const once = async (job: ChainJob, consumerMs: number): Promise<ChainResult> => {
  let handled = 0
  const instance = await eventfabric.setup({
    subscribers: 1,
    handler: () => {
      handled++
    },
    slow: { index: 0, ms: consumerMs },
    // Capacity only: the strategy is the core's default (the lane's: suspend).
    slowMailbox: { capacity: job.mailboxCapacity },
    busOptions: { lanes: { normal: { capacity: job.laneCapacity, strategy: "suspend" } }, shutdownGrace: 20 }
  })
  // Publishes the bus has taken (returned from `publish`), counted at the publisher: the core's own
  // `published` may include system events.
  let seq = 0
  const published = () => seq - instance.backlog!()
  const started = performance.now()
  let mark: { t: number; p: number; h: number } | undefined
  while (performance.now() - started < job.durationMs) {
    const missing = OUTSTANDING - (seq - published())
    if (missing > 0) {
      const batch: Array<Payload> = new Array(missing)
      for (let i = 0; i < missing; i++) batch[i] = { seq: seq++, t: 0, lane: 1 }
      instance.send(batch)
    }
    if (mark === undefined && performance.now() - started >= job.windowFromMs) {
      mark = { t: performance.now(), p: published(), h: handled }
    }
    await nextTurn()
  }
  const end = { t: performance.now(), p: published(), h: handled }
  const c = instance.counters!()
  const lost = c.dropped[0] + c.dropped[1] + c.dropped[2] + (c.deliveriesLost ?? 0)
  const mailboxApplied = instance.mailboxApplied
  await instance.close()
  const m = mark ?? { t: started, p: 0, h: 0 }
  const secs = (end.t - m.t) / 1000
  return {
    consumerMs,
    publisherRate: (end.p - m.p) / secs,
    consumerRate: (end.h - m.h) / secs,
    lost,
    published: end.p,
    handled: end.h,
    mailboxApplied
  }
}

export const measure = async (job: ChainJob): Promise<Array<ChainResult>> => {
  const out: Array<ChainResult> = []
  for (const ms of job.consumerMs) out.push(await once(job, ms))
  return out
}

export const steps = (_: Profile) => 1

export const run = async (ctx: Ctx): Promise<Array<Row>> => {
  const p = ctx.profile.chain
  const r = await ctx.run<Array<ChainResult>>(
    "suspend chain",
    { scenario: "chain", ...p } satisfies ChainJob,
    30_000 + p.consumerMs.length * p.durationMs * 3
  )
  return (r ?? []).map((x) => ({
    scenario: "chain",
    impl: "eventfabric",
    subscribers: 1,
    lane: `normal, suspend, capacity ${p.laneCapacity}`,
    mailbox: { capacity: p.mailboxCapacity },
    ...x,
    publisherToConsumer: x.publisherRate / x.consumerRate
  }))
}
