/** The transport's counters, mutated in place by the publisher and consumer. */
export interface Counters {
  published: number
  received: number
  claimed: number
  acknowledged: number
  deduplicated: number
  deadLettered: number
  decodeFailed: number
  inFlight: number
  reconnects: number
}

export const make = (): Counters => ({
  published: 0,
  received: 0,
  claimed: 0,
  acknowledged: 0,
  deduplicated: 0,
  deadLettered: 0,
  decodeFailed: 0,
  inFlight: 0,
  reconnects: 0
})
