/**
 * The one place the bench uses what the delivery-engine rewrite adds to core:
 * a mailbox given as `{ capacity, strategy }` and `bus.publishAll`. Each is
 * detected on the bus it runs against, and the bench degrades when it is
 * missing: a core whose mailbox is a number gets the capacity alone (that core
 * refuses deliveries past it, counted as overflowed, which behaves like
 * `dropping`), and a core without `publishAll` publishes one event at a time.
 * What was applied is reported with the results, so a figure never claims an
 * option that was not in effect.
 */
import { Effect } from "effect"

export type MailboxStrategy = "suspend" | "dropping" | "sliding" | "fail"

export interface Mailbox {
  readonly capacity?: number | undefined
  /** Omitted: the core's default (on the new engine, the lane's strategy: lossless on a suspend lane). */
  readonly strategy?: MailboxStrategy | undefined
}

/** How the mailbox request was honoured: as asked, or reduced to a capacity by a core that knows no strategies. */
export type MailboxApplied = "default" | "strategy" | "capacity only"

/**
 * Subscribes with the mailbox as asked; when the core refuses an object
 * mailbox (its options Schema wants a number), subscribes again with the
 * capacity alone.
 */
export const subscribeWithMailbox = <A, E>(
  subscribe: (options: Record<string, unknown>) => Effect.Effect<A, E>,
  base: Record<string, unknown>,
  mailbox: Mailbox | undefined
): Effect.Effect<{ readonly subscription: A; readonly applied: MailboxApplied }, E> => {
  if (mailbox === undefined)
    return Effect.map(subscribe(base), (subscription) => ({ subscription, applied: "default" }))
  return subscribe({ ...base, mailbox }).pipe(
    Effect.map((subscription) => ({ subscription, applied: "strategy" as MailboxApplied })),
    Effect.catch((error) =>
      mailbox.capacity === undefined
        ? subscribe(base).pipe(Effect.map((subscription) => ({ subscription, applied: "default" as MailboxApplied })))
        : isInvalidOptions(error)
          ? subscribe({ ...base, mailbox: mailbox.capacity }).pipe(
              Effect.map((subscription) => ({ subscription, applied: "capacity only" as MailboxApplied }))
            )
          : Effect.fail(error)
    )
  )
}

const isInvalidOptions = (e: unknown): boolean =>
  typeof e === "object" &&
  e !== null &&
  "_tag" in e &&
  String((e as { _tag: unknown })._tag).startsWith("InvalidOptions")

/** `bus.publishAll(definition, payloads)` when the core has it. */
export type PublishAll = (definition: unknown, payloads: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>

export const publishAllOf = (bus: object): PublishAll | undefined => {
  const f = (bus as { readonly publishAll?: unknown }).publishAll
  return typeof f === "function" ? (f as PublishAll) : undefined
}

/**
 * Loss counters of a stats snapshot, whatever the core names them: lane
 * drops and evictions, and per-delivery refusals (`overflowed` today; a
 * mailbox strategy's `dropped`/`evicted` on the new engine).
 */
export const deliveriesLost = (deliveries: object): number => {
  const d = deliveries as Record<string, unknown>
  let n = 0
  for (const k of ["overflowed", "dropped", "evicted"]) if (typeof d[k] === "number") n += d[k] as number
  return n
}
