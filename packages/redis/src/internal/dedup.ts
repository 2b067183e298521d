/**
 * Cross-process duplicate suppression for one consumer group, as a lease:
 *
 * - before handling, `lease` sets `<prefix>:dedup:<group>:<event id>` to this
 *   consumer for `claimIdle` (NX). It answers `Handle` (the lease is ours),
 *   `Duplicate` (the key says `done`: handled already, acknowledge and skip),
 *   or `Busy` (another consumer is handling the same event now: leave the entry
 *   pending; it comes back after `claimIdle`).
 * - after every local delivery ended, `done` rewrites the key to `done` for the
 *   dedup window.
 *
 * A consumer killed between the two leaves a lease that expires when its
 * entries become claimable, so at-least-once is kept: a crash never turns a
 * claim into a loss, which a plain `SET NX` before handling would.
 */

import { Effect } from "effect"
import type { RedisError } from "effect/persistence/Redis"
import { type Redis, script } from "effect/persistence/Redis"

export type Verdict = "Handle" | "Duplicate" | "Busy"

const leaseScript = script((key: string, owner: string, ttl: number) => [key, owner, ttl], {
  numberOfKeys: 1,
  lua: `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == 'done' then return 0 end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 2`
}).withReturnType<number>()

export interface Dedup {
  readonly lease: (eventId: string) => Effect.Effect<Verdict, RedisError>
  readonly done: (eventId: string) => Effect.Effect<void, RedisError>
}

export const make = (
  redis: Redis["Service"],
  options: { readonly keyPrefix: string; readonly owner: string; readonly leaseMs: number; readonly windowMs: number }
): Dedup => {
  const lease = redis.eval(leaseScript)
  const ttl = String(Math.max(1, Math.ceil(options.windowMs)))
  return {
    lease: (eventId) =>
      Effect.map(
        lease(`${options.keyPrefix}:${eventId}`, options.owner, Math.max(1, Math.ceil(options.leaseMs))),
        (n) => (Number(n) === 1 ? "Handle" : Number(n) === 0 ? "Duplicate" : "Busy")
      ),
    done: (eventId) => Effect.asVoid(redis.send("SET", `${options.keyPrefix}:${eventId}`, "done", "PX", ttl))
  }
}
