/** The raw @nats-io/jetstream client doing the same job: acked publishes with Nats-Msg-Id, consume + JSON.parse + ack. */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { type Impl, NATS_URL, TYPE } from "./types.ts"

export const streamName = (ns: string) => `TB_${ns}`
export const prefix = (ns: string) => `tb${ns}`
const subject = (ns: string) => `${prefix(ns)}.${TYPE}`

export const impl: Impl = {
  engine: "nats",
  name: "nats raw client",
  setup: async (ns) => {
    const nc = await connect({ servers: NATS_URL })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: streamName(ns), subjects: [`${prefix(ns)}.>`], storage: StorageType.File })
    await jsm.consumers.add(streamName(ns), {
      durable_name: "bench",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: 1024
    })
    await nc.close()
  },
  teardown: async (ns) => {
    const nc = await connect({ servers: NATS_URL })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.delete(streamName(ns)).catch(() => false)
    await nc.close()
  },
  publisher: async (ns) => {
    const nc = await connect({ servers: NATS_URL })
    const js = jetstream(nc)
    const subj = subject(ns)
    let seq = 0
    return {
      publish: async (items) => {
        await Promise.all(
          items.map((item) => {
            const id = `r-${seq++}`
            return js.publish(
              subj,
              JSON.stringify({ id, type: TYPE, payload: item, publishedAt: item.sent, attempt: 1 }),
              { msgID: id }
            )
          })
        )
      },
      close: () => nc.drain()
    }
  },
  consumer: async (ns, _name, onEvent) => {
    const nc = await connect({ servers: NATS_URL })
    const js = jetstream(nc)
    const consumer = await js.consumers.get(streamName(ns), "bench")
    const messages = await consumer.consume({
      max_messages: 512,
      callback: (m) => {
        onEvent((JSON.parse(m.string()) as { payload: { sent: number } }).payload.sent)
        m.ack()
      }
    })
    return async () => {
      messages.stop()
      await nc.drain()
    }
  }
}
