/**
 * Detects that JetStream lost what it had acknowledged: the stream is gone
 * (`StreamMissing`: deleted, or a server restart with memory storage) or the
 * group's durable consumer is gone (`GroupMissing`: its delivery state with
 * it). Each finding is counted (`dataLost`), logged as an error and published
 * as `Transport.DataLost` on the local bus; then what is missing is made
 * again so consuming goes on. Checked on every in-progress tick.
 */
import type { EventBus } from "@eventfabric/core"
import { Transport } from "@eventfabric/transport"
import { Effect } from "effect"
import type { NatsConnection } from "../NatsConnection.ts"
import { messageOf } from "./errors.ts"

const missing = async (probe: () => Promise<unknown>): Promise<boolean> => {
  try {
    await probe()
    return false
  } catch (error) {
    if (/not found/i.test(messageOf(error))) return true
    throw error
  }
}

export const make = (
  connection: NatsConnection["Service"],
  stream: string,
  group: string,
  counters: Transport.Counters,
  bus: EventBus.EventBus["Service"],
  /** Makes the stream (when allowed) and the durable again. */
  recreate: Effect.Effect<void, unknown>
) => {
  const inspect = Effect.tryPromise(async (): Promise<Array<typeof Transport.DataLost.payload.Type>> => {
    if (await missing(() => connection.jsm.streams.info(stream))) {
      return [{ engine: "nats", reason: "StreamMissing", stream, detail: `stream ${stream} no longer exists` }]
    }
    if (await missing(() => connection.jsm.consumers.info(stream, group))) {
      return [
        {
          engine: "nats",
          reason: "GroupMissing",
          stream,
          detail: `durable consumer ${group} of ${stream} no longer exists; its delivery state is gone`
        }
      ]
    }
    return []
  })

  /** Never fails: a server that does not answer now is checked again next tick. */
  return Effect.flatMap(
    Effect.orElseSucceed(inspect, () => []),
    (findings) =>
      findings.length === 0
        ? Effect.void
        : Effect.andThen(
            Effect.forEach(
              findings,
              (f) =>
                Effect.andThen(
                  Effect.sync(() => counters.dataLost++),
                  Effect.andThen(
                    Effect.logError(`nats data loss (${f.reason}): ${f.detail}`),
                    Transport.reportDataLost(bus, f)
                  )
                ),
              { discard: true }
            ),
            Effect.ignore(recreate)
          )
  )
}
