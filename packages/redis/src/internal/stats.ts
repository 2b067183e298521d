/** The transport's counters, mutated in place by the publisher and consumer. */
import { Transport } from "@eventfabric/transport"

export interface Counters extends Transport.Counters {
  claimed: number
}

export const make = (): Counters => ({ ...Transport.makeCounters(), claimed: 0 })
