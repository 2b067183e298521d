/** The raw node-redis client doing the same job: pipelined XADD, XREADGROUP + JSON.parse + XACK. */
import { createClient } from "redis"
import { type Impl, REDIS_URL, TYPE } from "./types.ts"

const stream = (ns: string) => `tbench:${ns}:${TYPE}`
const connect = async () => {
  const client = createClient({ url: REDIS_URL })
  await client.connect()
  return client
}

type Entries = Array<[string, Array<string>]>

/** node-redis 6 answers an object per stream (a Map under some type mappings); RESP2 clients an array. */
const streams = (reply: unknown): Iterable<[string, Entries]> =>
  reply === null || typeof reply !== "object"
    ? []
    : Array.isArray(reply)
      ? (reply as Array<[string, Entries]>)
      : reply instanceof Map
        ? (reply as Map<string, Entries>)
        : Object.entries(reply as Record<string, Entries>)

export const impl: Impl = {
  engine: "redis",
  name: "redis raw client",
  setup: async (ns) => {
    const c = await connect()
    await c.sendCommand(["XGROUP", "CREATE", stream(ns), "bench", "0", "MKSTREAM"])
    await c.close()
  },
  teardown: async (ns) => {
    const c = await connect()
    await c.sendCommand(["DEL", stream(ns)])
    await c.close()
  },
  publisher: async (ns) => {
    const c = await connect()
    const key = stream(ns)
    let seq = 0
    return {
      publish: async (items) => {
        await Promise.all(
          items.map((item) =>
            c.sendCommand([
              "XADD",
              key,
              "MAXLEN",
              "~",
              "1000000",
              "*",
              "e",
              JSON.stringify({ id: `r-${seq++}`, type: TYPE, payload: item, publishedAt: item.sent, attempt: 1 })
            ])
          )
        )
      },
      close: () => c.close()
    }
  },
  consumer: async (ns, name, onEvent) => {
    const c = await connect()
    const key = stream(ns)
    let running = true
    const loop = (async () => {
      while (running) {
        const reply = await c.sendCommand([
          "XREADGROUP",
          "GROUP",
          "bench",
          name,
          "COUNT",
          "512",
          "BLOCK",
          "200",
          "STREAMS",
          key,
          ">"
        ])
        for (const [, entries] of streams(reply)) {
          const ids: Array<string> = []
          for (const [id, fields] of entries) {
            onEvent((JSON.parse(fields[1]!) as { payload: { sent: number } }).payload.sent)
            ids.push(id)
          }
          if (ids.length > 0) await c.sendCommand(["XACK", key, "bench", ...ids])
        }
      }
    })()
    return async () => {
      running = false
      await loop
      await c.close()
    }
  }
}
