import { describe, expect, it } from "@effect/vitest"
import { EventBus, Plugin } from "@eventfabric/core"
import { Redaction } from "@eventfabric/plugins"
import { Effect, Layer } from "effect"
import { Redis } from "effect/persistence/Redis"
import { definitions, OrderPlaced, publisher, skip, withPrefix } from "./fixtures.ts"

const email = "alice@example.com"
const token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"

/** Publishes one event and answers the stream entry's raw fields as Redis holds them. */
const publishRaw = (prefix: string) =>
  Effect.gen(function* () {
    const pub = yield* publisher({ definitions, prefix })
    yield* pub.publish(OrderPlaced, { orderId: `o-1 ${email}`, total: 1 }, { correlationId: `c ${token}` })
    const redis = yield* Redis
    const entries = yield* redis.send<Array<unknown>>("XRANGE", `${prefix}:${OrderPlaced.name}`, "-", "+")
    return JSON.stringify(entries)
  })

describe.skipIf(skip)("RedisTransport and redaction", () => {
  it.live("with the Redaction plugin on the local bus, stream entries carry no secret of the payload or ids", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const raw = yield* publishRaw(prefix).pipe(
          Effect.provide(EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Redaction.plugin()))))
        )
        expect(raw).not.toContain(email)
        expect(raw).not.toContain(token)
        expect(raw).toContain("[REDACTED:email]")
      })
    )
  )

  it.live("without it, the entry carries the payload as published", () =>
    withPrefix((prefix) =>
      Effect.map(publishRaw(prefix).pipe(Effect.provide(EventBus.EventBus.layer())), (raw) =>
        expect(raw).toContain(email)
      )
    )
  )
})
