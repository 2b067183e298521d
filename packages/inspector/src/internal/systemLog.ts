/**
 * The latest `system.*` events, in a bounded ring, and each subscription's
 * circuit state as the CircuitBreaker plugin's events tell it.
 */
import type { Envelope } from "@eventfabric/core"
import type { CircuitSample } from "../Sample.ts"

export interface SystemEvent {
  readonly seq: number
  readonly id: string
  readonly type: string
  readonly at: number
  /** Already redacted. */
  readonly payload: unknown
}

export interface SystemLog {
  readonly add: (envelope: Envelope.Envelope) => void
  /** Events with `seq > after`, oldest first. */
  readonly since: (after: number) => ReadonlyArray<SystemEvent>
  readonly last: () => number
  /** Circuit states; an open circuit past its `retryAfterMillis` reads as half-open (its next delivery is the probe). */
  readonly circuits: (now: number) => ReadonlyMap<string, CircuitSample>
}

interface Circuit {
  readonly open: boolean
  readonly since: number
  readonly probeAt: number
}

const field = (payload: unknown, key: string): unknown =>
  typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>)[key] : undefined

export const make = (capacity: number, redact: (u: unknown) => unknown): SystemLog => {
  const ring: Array<SystemEvent> = []
  let seq = 0
  const circuits = new Map<string, Circuit>()
  return {
    add: (envelope) => {
      // Circuit events carry names, no user data; read them before masking.
      const subscription = field(envelope.payload, "subscription")
      if (typeof subscription === "string") {
        if (envelope.type === "system.circuit_opened") {
          const after = field(envelope.payload, "retryAfterMillis")
          circuits.set(subscription, {
            open: true,
            since: envelope.publishedAt,
            probeAt: envelope.publishedAt + (typeof after === "number" ? after : 0)
          })
        } else if (envelope.type === "system.circuit_closed") {
          circuits.set(subscription, { open: false, since: envelope.publishedAt, probeAt: 0 })
        }
      }
      ring.push({
        seq: ++seq,
        id: envelope.id,
        type: envelope.type,
        at: envelope.publishedAt,
        payload: redact(envelope.payload)
      })
      if (ring.length > capacity) ring.shift()
    },
    since: (after) => ring.filter((e) => e.seq > after),
    last: () => seq,
    circuits: (now) => {
      const out = new Map<string, CircuitSample>()
      for (const [name, c] of circuits) {
        out.set(name, { state: !c.open ? "closed" : now >= c.probeAt ? "half-open" : "open", since: c.since })
      }
      return out
    }
  }
}
