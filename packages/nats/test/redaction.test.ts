import { describe, expect, it } from "@effect/vitest"
import { EventBus, Plugin } from "@eventfabric/core"
import { Redaction } from "@eventfabric/plugins"
import { Effect, Layer } from "effect"
import { NatsConnection, NatsTransport } from "../src/index.ts"
import { connection, definitions, OrderPlaced, skip, withStream } from "./fixtures.ts"

const email = "alice@example.com"
const token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"

/** Publishes one event and answers the stored message's raw data as the stream holds it. */
const publishRaw = (names: { readonly stream: string; readonly subjectPrefix: string }) =>
  Effect.gen(function* () {
    const transport = yield* NatsTransport.make({ ...names, definitions, storage: "memory" })
    const published = yield* transport.publish(
      OrderPlaced,
      { orderId: `o-1 ${email}`, total: 1 },
      { correlationId: `c ${token}` }
    )
    const c = yield* NatsConnection.NatsConnection
    const message = yield* Effect.promise(() =>
      c.jsm.streams.getMessage(names.stream, { seq: Number(published.position) })
    )
    return message?.string() ?? ""
  }).pipe(Effect.provide(connection()))

describe.skipIf(skip)("NatsTransport and redaction", () => {
  it.live("with the Redaction plugin on the local bus, stream messages carry no secret of the payload or ids", () =>
    withStream((names) =>
      Effect.gen(function* () {
        const raw = yield* publishRaw(names).pipe(
          Effect.provide(EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Redaction.plugin()))))
        )
        expect(raw).not.toContain(email)
        expect(raw).not.toContain(token)
        expect(raw).toContain("[REDACTED:email]")
      })
    )
  )

  it.live("without it, the message carries the payload as published", () =>
    withStream((names) =>
      Effect.map(publishRaw(names).pipe(Effect.provide(EventBus.EventBus.layer())), (raw) =>
        expect(raw).toContain(email)
      )
    )
  )
})
