/**
 * Detects that Redis lost what it had acknowledged: a stream the transport
 * reads is gone (`StreamMissing`), its consumer group is gone
 * (`GroupMissing`: a restart without persistence, then a publish recreated
 * the stream), or the server restarted (its `run_id` changed) without AOF,
 * so what was written since the last RDB save is gone (`ServerRestarted`).
 *
 * Redis cannot say which entries were lost, only that some may have been;
 * each finding is counted (`dataLost`), logged as an error and published as
 * `Transport.DataLost` on the local bus. Called when the blocking read fails
 * (before the groups are made again) and on every claim tick.
 */
import type { EventBus } from "@eventfabric/core"
import { Transport } from "@eventfabric/transport"
import { Effect, Semaphore } from "effect"
import type { Redis } from "effect/persistence/Redis"
import { errorMessage } from "./redis.ts"

const infoField = (info: unknown, name: string): string | undefined =>
  new RegExp(`(?:^|\\r?\\n)${name}:([^\\r\\n]*)`).exec(String(info))?.[1]

/** Group names out of an `XINFO GROUPS` reply (arrays of pairs, or maps, by client version). */
const groupNames = (reply: unknown): Array<string> =>
  (Array.isArray(reply) ? reply : []).map((g: unknown) => {
    if (Array.isArray(g)) return String(g[g.indexOf("name") + 1])
    if (g instanceof Map) return String(g.get("name"))
    return String((g as Record<string, unknown>)?.name)
  })

export interface Finding {
  readonly reason: typeof Transport.DataLossReason.Type
  readonly stream: string
  readonly detail: string
}

export const make = (
  redis: Redis["Service"],
  keys: ReadonlyArray<string>,
  group: string,
  counters: Transport.Counters,
  bus: EventBus.EventBus["Service"]
) => {
  let runId: string | undefined

  /** Records the server's run id: call once the groups exist. */
  const remember = Effect.map(redis.send("INFO", "server"), (info) => {
    runId = infoField(info, "run_id")
  })

  const inspect = Effect.gen(function* () {
    const findings: Array<Finding> = []
    const info = yield* redis.send("INFO", "server")
    const now = infoField(info, "run_id")
    const restarted = runId !== undefined && now !== undefined && now !== runId
    for (const key of keys) {
      const groups = yield* redis.send("XINFO", "GROUPS", key).pipe(
        Effect.map(groupNames),
        Effect.catchIf(
          (e) => /no such key/i.test(errorMessage(e)),
          () => Effect.succeed(undefined)
        )
      )
      if (groups === undefined) {
        findings.push({ reason: "StreamMissing", stream: key, detail: `stream ${key} no longer exists` })
      } else if (!groups.includes(group)) {
        findings.push({
          reason: "GroupMissing",
          stream: key,
          detail: `consumer group ${group} of ${key} no longer exists; its pending entries are gone`
        })
      }
    }
    if (findings.length === 0 && restarted) {
      const persistence = yield* redis.send("INFO", "persistence")
      if (infoField(persistence, "aof_enabled") !== "1") {
        findings.push({
          reason: "ServerRestarted",
          stream: keys.join(","),
          detail: "Redis restarted without AOF: entries written since its last RDB save are gone"
        })
      }
    }
    runId = now
    return findings
  })

  // The reader and the claimer both check: one at a time, so one restart is reported once.
  const lock = Semaphore.makeUnsafe(1)

  /** Reports every finding; answers whether there was any (the groups need making again). */
  const check = lock.withPermits(1)(
    Effect.flatMap(inspect, (findings) =>
      Effect.as(
        Effect.forEach(
          findings,
          (f) =>
            Effect.andThen(
              Effect.sync(() => counters.dataLost++),
              Effect.andThen(
                Effect.logError(`redis data loss (${f.reason}): ${f.detail}`),
                Transport.reportDataLost(bus, { engine: "redis", ...f })
              )
            ),
          { discard: true }
        ),
        findings.length > 0
      )
    )
  )

  return { remember, check }
}
