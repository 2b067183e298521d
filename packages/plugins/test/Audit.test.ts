import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Envelope, Event, EventBus, Plugin } from "@eventfabric/core"
import { Effect, Exit, FileSystem, Layer, Schema, Scope } from "effect"
import * as Audit from "../src/Audit.ts"
import * as Redaction from "../src/Redaction.ts"
import * as Validation from "../src/Validation.ts"

const UserSignedUp = Event.define("users.signed_up", {
  payload: Schema.Struct({ userId: Schema.String, password: Schema.String, n: Schema.Number })
})

const busWith = (config: Audit.Config, extra: ReadonlyArray<Plugin.Plugin<any, any>> = []) =>
  EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Audit.plugin(config), ...extra)))

/** Runs `body` against a bus whose scope closes (flushing the audit) before returning. */
const withBus = <A, E>(
  layer: Layer.Layer<EventBus.EventBus, any, any>,
  body: (bus: EventBus.EventBus["Service"]) => Effect.Effect<A, E>
) => Effect.flatMap(EventBus.EventBus, body).pipe(Effect.provide(layer))

const readLines = (fs: FileSystem.FileSystem, path: string) =>
  fs.readFileString(path).pipe(
    Effect.map((text) => {
      expect(text === "" || text.endsWith("\n"), `${path} ends with a whole line`).toBe(true)
      return (
        text
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as Record<string, any>)
          // the bus's own stop records (see reliability.test.ts)
          .filter((l) => l.status !== "recorded")
      )
    })
  )

const decodeEnvelope = Schema.decodeUnknownSync(Envelope.Any)

describe("Audit", () => {
  it.live("writes every publish as a JSON line (envelope + status); redacted when a Redactor is present", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const plain = `${dir}/plain`
      const masked = `${dir}/masked`
      const publishAll = (bus: EventBus.EventBus["Service"]) =>
        Effect.gen(function* () {
          yield* bus.publish(UserSignedUp, { userId: "u-1", password: "hunter2", n: 1 })
          yield* Effect.exit(bus.publish(UserSignedUp, { userId: "u-2", password: "x", n: "bad" } as never))
        })
      yield* withBus(busWith({ directory: plain }, [Validation.plugin()]), publishAll)
      yield* withBus(busWith({ directory: masked }, [Validation.plugin()]), publishAll).pipe(
        Effect.provide(Redaction.Redactor.layer())
      )
      const a = yield* readLines(fs, `${plain}/events.jsonl`)
      expect(a.map((l) => l.status)).toEqual(["accepted", "InvalidEvent"])
      expect(a[0]!.payload).toEqual({ userId: "u-1", password: "hunter2", n: 1 })
      expect(decodeEnvelope(a[0]).type).toBe("users.signed_up")
      const b = yield* readLines(fs, `${masked}/events.jsonl`)
      expect(b[0]!.payload).toEqual({ userId: "u-1", password: "[REDACTED]", n: 1 })
      expect(b[1]!.payload.password).toBe("[REDACTED]")
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
  )

  it.live("rotates by size into N numbered backups, the oldest deleted, lines never split", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const maxBytes = 1000
      yield* withBus(busWith({ directory: dir, maxBytes, backups: 2 }), (bus) =>
        Effect.forEach(
          Array.from({ length: 60 }, (_, n) => n),
          (n) => bus.publish(UserSignedUp, { userId: `u-${n}`, password: "p", n }),
          { discard: true }
        )
      )
      const names = (yield* fs.readDirectory(dir)).sort()
      expect(names).toEqual(["events.1.jsonl", "events.2.jsonl", "events.jsonl"])
      const files = [`${dir}/events.2.jsonl`, `${dir}/events.1.jsonl`, `${dir}/events.jsonl`]
      const ns: Array<number> = []
      for (const f of files) {
        const size = Number((yield* fs.stat(f)).size)
        expect(size, f).toBeLessThanOrEqual(maxBytes)
        expect(size, f).toBeGreaterThan(0)
        for (const line of yield* readLines(fs, f)) ns.push(line.payload.n)
      }
      // the newest events survive, in order, with no gap; the oldest were deleted
      expect(ns.at(-1)).toBe(59)
      expect(ns[0]).toBeGreaterThan(0)
      expect(ns).toEqual(Array.from({ length: ns.length }, (_, i) => ns[0]! + i))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
  )

  it.live("concurrent publishers: every line whole, none lost, across rotations", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const total = 400
      yield* withBus(busWith({ directory: dir, maxBytes: 4096, backups: 100, capacity: 16 }), (bus) =>
        Effect.forEach(
          Array.from({ length: total }, (_, n) => n),
          (n) => bus.publish(UserSignedUp, { userId: `u-${n}`, password: "p".repeat(n % 50), n }),
          { concurrency: 32, discard: true }
        )
      )
      const names = yield* fs.readDirectory(dir)
      expect(names.length).toBeGreaterThan(3) // it did rotate
      const seen = new Set<number>()
      for (const name of names) {
        expect(Number((yield* fs.stat(`${dir}/${name}`)).size)).toBeLessThanOrEqual(4096)
        for (const line of yield* readLines(fs, `${dir}/${name}`)) {
          expect(decodeEnvelope(line).type).toBe("users.signed_up")
          seen.add(line.payload.n)
        }
      }
      expect(seen.size).toBe(total)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
  )

  it.live("appends to an existing file and counts its size for rotation", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* fs.writeFileString(`${dir}/events.jsonl`, `${"x".repeat(990)}\n`)
      yield* withBus(busWith({ directory: dir, maxBytes: 1000, backups: 1 }), (bus) =>
        bus.publish(UserSignedUp, { userId: "u", password: "p", n: 1 })
      )
      expect((yield* fs.readFileString(`${dir}/events.1.jsonl`)).startsWith("xxx")).toBe(true)
      expect((yield* readLines(fs, `${dir}/events.jsonl`))[0]!.payload.n).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
  )

  it.live("events published while the bus drains at shutdown are audited too", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      // No drain before shutdown: the failure, and the system.handler_error it
      // publishes, happen during the bus's own drain. The subscription lives in
      // the test's scope, which outlives the bus.
      const outer = yield* Effect.scope
      yield* withBus(busWith({ directory: dir }), (bus) =>
        Effect.gen(function* () {
          yield* bus
            .subscribe(UserSignedUp, () => Effect.andThen(Effect.sleep("50 millis"), Effect.fail("boom")), {
              name: "fails"
            })
            .pipe(Scope.provide(outer))
          yield* bus.publish(UserSignedUp, { userId: "u-1", password: "p", n: 1 })
        })
      )
      const lines = yield* readLines(fs, `${dir}/events.jsonl`)
      expect(lines.map((l) => l.type)).toEqual(["users.signed_up", "system.handler_error"])
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
  )

  it("backup paths number before the extension", () => {
    expect(Audit.backupPath("/a/events.jsonl", 0)).toBe("/a/events.jsonl")
    expect(Audit.backupPath("/a/events.jsonl", 3)).toBe("/a/events.3.jsonl")
    expect(Audit.backupPath("/a.b/log", 1)).toBe("/a.b/log.1")
  })

  it.effect("a bad config value fails with InvalidOptions naming the path", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.provide(EventBus.EventBus, busWith({ directory: "/tmp/x", maxBytes: -1, backups: 1.5 }))
      )
      const text = Exit.isFailure(exit) ? String(exit.cause) : ""
      expect(text).toContain("InvalidOptions")
      expect(text).toContain(`["maxBytes"]`)
      expect(text).toContain(`["backups"]`)
      const exit2 = yield* Effect.exit(Effect.provide(EventBus.EventBus, busWith({} as never)))
      expect(Exit.isFailure(exit2) && String(exit2.cause)).toContain(`["directory"]`)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})
