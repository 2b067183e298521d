/**
 * Small helpers over `effect/persistence` Redis: replies parsed into plain
 * values, errors mapped to the transport's and the stores' typed errors.
 */
import * as StoreError from "@eventfabric/plugins/StoreError"
import { Cause, Effect } from "effect"
import type { RedisError } from "effect/persistence/Redis"
import { RedisUnavailable } from "../RedisErrors.ts"

/** One stream entry; `fields` is null when the entry was trimmed away. */
export interface StreamEntry {
  readonly stream: string
  readonly id: string
  readonly fields: ReadonlyArray<string> | null
}

export const errorMessage = (error: unknown): string => {
  if (Cause.isTimeoutError(error)) return "timed out"
  const cause = (error as RedisError)?.cause ?? error
  return cause instanceof Error ? cause.message : String(cause)
}

export const unavailable = (operation: string) => (error: unknown) =>
  new RedisUnavailable({ operation, message: errorMessage(error) })

export const storeError = (store: string) => (error: unknown) =>
  new StoreError.StoreError({ store, message: errorMessage(error) })

type RawEntries = Array<[string, Array<string> | null]>

/**
 * `XREADGROUP` reply: null, or per stream its entries. node-redis 6 answers
 * an object `{ [stream]: entries }` (a Map with some type mappings); plain
 * RESP2 clients answer `[[stream, entries], ...]`. All three are accepted.
 */
export const parseRead = (reply: unknown): Array<StreamEntry> => {
  const out: Array<StreamEntry> = []
  if (reply === null || typeof reply !== "object") return out
  const streams: Iterable<[string, RawEntries]> = Array.isArray(reply)
    ? (reply as Array<[string, RawEntries]>)
    : reply instanceof Map
      ? (reply as Map<string, RawEntries>)
      : Object.entries(reply as Record<string, RawEntries>)
  for (const [stream, entries] of streams) {
    for (const [id, fields] of entries) out.push({ stream: String(stream), id: String(id), fields })
  }
  return out
}

/** `XAUTOCLAIM` reply: `[cursor, [[id, fields], ...], [deletedId, ...]]`. */
export const parseAutoclaim = (
  stream: string,
  reply: unknown
): { readonly cursor: string; readonly entries: Array<StreamEntry> } => {
  const [cursor, entries] = reply as [string, Array<[string, Array<string> | null]>]
  return {
    cursor: String(cursor),
    entries: (entries ?? []).filter((e) => e !== null).map(([id, fields]) => ({ stream, id: String(id), fields }))
  }
}

/** The value of `name` in a flat `[field, value, ...]` list. */
export const field = (fields: ReadonlyArray<string>, name: string): string | undefined => {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return String(fields[i + 1])
  return undefined
}

/** Every key matching `pattern`, through `SCAN` (for tests, purges, sizes). */
export const scanKeys = (
  send: <A>(command: string, ...args: ReadonlyArray<string>) => Effect.Effect<A, RedisError>,
  pattern: string
): Effect.Effect<Array<string>, RedisError> =>
  Effect.gen(function* () {
    const keys: Array<string> = []
    let cursor = "0"
    do {
      const [next, batch] = yield* send<[string, Array<string>]>("SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
      cursor = String(next)
      keys.push(...batch)
    } while (cursor !== "0")
    return keys
  })
