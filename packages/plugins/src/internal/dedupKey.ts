/**
 * The dedup key of an envelope: the definition's key annotation when it has
 * one, else a hash of the type, the source and the canonical payload.
 */
import type { Envelope, Event } from "@eventfabric/core"

/** The annotation `Dedup.keyed` sets: a function from the payload to its key. */
export const KeyAnnotation = "@eventfabric/plugins/Dedup/key"

/**
 * Writes a value as JSON with object keys sorted at every depth, so equal
 * payloads give equal strings whatever their key order. `undefined` fields
 * are left out (as JSON does), bigints written as strings.
 */
export const canonicalJson = (value: unknown): string => canonical(value, [])

// `path` holds the objects being rendered: a cycle renders as "[Circular]"
// instead of overflowing the stack (found by the fuzz test).
const canonical = (value: unknown, path: Array<object>): string => {
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return JSON.stringify(value.toString())
    return JSON.stringify(value) ?? "null"
  }
  if (path.includes(value)) return '"[Circular]"'
  path.push(value)
  try {
    const json = (value as { toJSON?: () => unknown }).toJSON
    if (typeof json === "function") return canonical(json.call(value), path)
    if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonical(v, path))).join(",")}]`
    const keys = Object.keys(value).sort()
    let out = "{"
    for (const key of keys) {
      const v = (value as Record<string, unknown>)[key]
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue
      if (out.length > 1) out += ","
      out += `${JSON.stringify(key)}:${canonical(v, path)}`
    }
    return `${out}}`
  } finally {
    path.pop()
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

const hex32 = (n: number): string =>
  HEX[(n >>> 24) & 255]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!

/**
 * Two seeded cyrb53-style hashes of one string in one pass, their 2 × 64
 * mixed bits written as 32 hex digits. (Two passes and `Number#toString(36)`
 * of 53-bit values were a fifth of the plugin's CPU in a profile; a radix
 * conversion of a double is far dearer than a table lookup.)
 */
const hash128 = (s: string): string => {
  let a1 = 0xdeadbeef ^ 1
  let a2 = 0x41c6ce57 ^ 1
  let b1 = 0xdeadbeef ^ 2
  let b2 = 0x41c6ce57 ^ 2
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i)
    a1 = Math.imul(a1 ^ ch, 2654435761)
    a2 = Math.imul(a2 ^ ch, 1597334677)
    b1 = Math.imul(b1 ^ ch, 2654435761)
    b2 = Math.imul(b2 ^ ch, 1597334677)
  }
  const a = Math.imul(a1 ^ (a1 >>> 16), 2246822507) ^ Math.imul(a2 ^ (a2 >>> 13), 3266489909)
  const b = Math.imul(a2 ^ (a2 >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909)
  const c = Math.imul(b1 ^ (b1 >>> 16), 2246822507) ^ Math.imul(b2 ^ (b2 >>> 13), 3266489909)
  const d = Math.imul(b2 ^ (b2 >>> 16), 2246822507) ^ Math.imul(c ^ (c >>> 13), 3266489909)
  return hex32(a) + hex32(b) + hex32(c) + hex32(d)
}

/**
 * `type` and the definition's key when it has one (the annotation, else the
 * core's deprecated `key` field); else `type`, `source` and a 128-bit hash
 * (two seeded cyrb53-style 64-bit mixes) of the canonical payload.
 */
export const keyOf = (envelope: Envelope.Envelope, definition: Event.Definition): string => {
  const key = (definition.annotations?.[KeyAnnotation] ?? definition.key) as ((payload: unknown) => string) | undefined
  if (key !== undefined) return `${envelope.type}#${key(envelope.payload)}`
  const source = envelope.source ?? ""
  const text = `${source}\u0000${canonicalJson(envelope.payload)}`
  return `${envelope.type}\u0000${source}\u0000${hash128(text)}`
}
