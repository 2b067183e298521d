/**
 * What the core under test supports of the engine rewrite's additions,
 * probed on a real bus (see compat.ts). Reported in latest.json's meta.
 */
import { eventfabricBatch } from "./eventfabric.ts"

export interface Features {
  /** `bus.publishAll` exists: the suite adds an `eventfabric-publishAll` row. */
  readonly publishAll: boolean
  /** A mailbox `{ capacity, strategy }` is accepted (else the capacity alone is applied). */
  readonly mailboxStrategy: boolean
}

export const detect = async (): Promise<Features> => {
  const probe = await eventfabricBatch.setup({
    subscribers: 2,
    handler: () => undefined,
    slow: { index: 1, ms: 1 },
    slowMailbox: { capacity: 16, strategy: "dropping" },
    busOptions: { shutdownGrace: 10 }
  })
  const features = { publishAll: probe.publishesBatched === true, mailboxStrategy: probe.mailboxApplied === "strategy" }
  await probe.close()
  return features
}
