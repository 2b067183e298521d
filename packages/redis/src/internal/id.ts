/**
 * UUIDv7 ids for envelopes published through Redis (same layout as the
 * core's: 48-bit milliseconds, a per-millisecond counter, then 48 random bits
 * drawn once per process). Sortable by creation time, unique across processes.
 */
import { randomBytes } from "node:crypto"

const hex3 = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, "0"))
const variant4 = Array.from({ length: 16384 }, (_, i) => (0x8000 | i).toString(16))
const node = randomBytes(6).toString("hex")

let lastMs = -1
let prefix = ""
let counter = 0

const setMillis = (ms: number) => {
  lastMs = ms
  counter = 0
  const t = ms.toString(16).padStart(12, "0")
  prefix = `${t.slice(0, 8)}-${t.slice(8, 12)}-7`
}

/** A new UUIDv7 for the given time in epoch milliseconds. */
export const uuidv7 = (ms: number): string => {
  if (ms > lastMs) setMillis(ms)
  else if (counter === 0x3ffffff) setMillis(lastMs + 1)
  const c = counter++
  return `${prefix}${hex3[c >>> 14]}-${variant4[c & 0x3fff]}-${node}`
}
