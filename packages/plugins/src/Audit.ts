/**
 * Audit: every publish, as one JSON line, appended through the platform
 * `FileSystem` (`NodeFileSystem.layer` on Node).
 *
 * Each line is the envelope (redacted by the `Redactor` when one is provided)
 * plus `status`: the receipt (`accepted`, `dropped`, `deduplicated`) or the
 * error tag (`InvalidEvent`, `BackpressureError`, `BusClosedError`).
 *
 * Publishers never touch the file: they put lines into a bounded buffer
 * (`capacity`; a full buffer makes publishers wait) and one writer fiber
 * appends them in batches, so lines are always whole and in order, whatever
 * the number of concurrent publishers. When the file would pass `maxBytes`
 * it is rotated into numbered backups: `events.jsonl` -> `events.1.jsonl` ->
 * … -> `events.<backups>.jsonl`, the oldest deleted. A line is never split;
 * one longer than `maxBytes` gets a file of its own. The buffer is flushed
 * when the bus shuts down, and again once it has drained, so events
 * published during the drain (a `system.handler_error`, say) are audited too.
 *
 * Put Audit inside Tracing (so lines carry `traceparent`) and outside
 * Validation (so rejections are audited).
 *
 * @since 0.1.0
 */
import { type Envelope, type Middleware, Options, Plugin } from "@eventfabric/core"
import { Effect, Exit, FileSystem, Option, Queue, Schema, Semaphore } from "effect"
import { Redactor } from "./Redaction.ts"

/**
 * The config.
 *
 * - `directory` (required): created when missing.
 * - `file`: default `"events.jsonl"`; backups insert the number before the
 *   extension.
 * - `maxBytes`: rotation threshold, default 10 MiB.
 * - `backups`: numbered backups kept, default 5 (0: the file is truncated).
 * - `capacity`: lines buffered before publishers wait, default 4096.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Audit } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Audit.Config)({ directory: "/var/log/app", maxBytes: 1_048_576, backups: 3 })
 * ```
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  directory: Schema.String.check(Schema.isNonEmpty()),
  file: Schema.optional(Schema.String.check(Schema.isPattern(/^[^/\\]+$/, { expected: "a file name without /" }))),
  maxBytes: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  backups: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 }))),
  capacity: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
})

/**
 * @since 0.1.0
 */
export type Config = typeof Config.Encoded

/**
 * The path of backup `n` of a log file (`n` = 0: the file itself).
 *
 * @example
 * ```ts
 * import { Audit } from "@eventfabric/plugins"
 * Audit.backupPath("/logs/events.jsonl", 2) // "/logs/events.2.jsonl"
 * ```
 * @since 0.1.0
 */
export const backupPath = (path: string, n: number): string => {
  if (n === 0) return path
  const slash = path.lastIndexOf("/")
  const dot = path.lastIndexOf(".")
  return dot > slash + 1 ? `${path.slice(0, dot)}.${n}${path.slice(dot)}` : `${path}.${n}`
}

const encoder = new TextEncoder()

/** A JSON line: the envelope with a status. Values JSON cannot hold become strings. */
const toLine = (envelope: Envelope.Envelope, status: string): string =>
  `${JSON.stringify({ ...envelope, status }, (_key, value) => {
    if (typeof value === "bigint") return value.toString()
    if (typeof value === "symbol" || typeof value === "function") return String(value)
    return value
  })}\n`

/**
 * The plugin. Needs `FileSystem`; uses the `Redactor` when one is provided.
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Audit, Redaction } from "@eventfabric/plugins"
 *
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(Audit.plugin({ directory: "./audit", maxBytes: 10_000_000, backups: 5 }))),
 *   Layer.provide([NodeFileSystem.layer, Redaction.Redactor.layer()])
 * )
 * ```
 * @since 0.1.0
 */
export const plugin = (config: Config) =>
  Plugin.make(
    "audit",
    Effect.gen(function* () {
      const decoded = yield* Options.decode(Config, "Audit", config)
      const fs = yield* FileSystem.FileSystem
      const redactor = yield* Effect.serviceOption(Redactor)
      const path = `${decoded.directory.replace(/\/+$/, "")}/${decoded.file ?? "events.jsonl"}`
      const maxBytes = decoded.maxBytes ?? 10 * 1024 * 1024
      const backups = decoded.backups ?? 5
      const redact = Option.match(redactor, {
        onNone: () => (e: Envelope.Envelope) => e,
        onSome: (r) => (e: Envelope.Envelope) => r.redact(e)
      })

      return (_bus: Plugin.BusHandle) =>
        Effect.gen(function* () {
          yield* fs.makeDirectory(decoded.directory, { recursive: true }).pipe(Effect.orDie)
          let size = yield* fs.stat(path).pipe(
            Effect.map((info) => Number(info.size)),
            Effect.orElseSucceed(() => 0)
          )
          const queue = yield* Queue.bounded<string>(decoded.capacity ?? 4096)
          const lock = yield* Semaphore.make(1)

          const rotate = Effect.gen(function* () {
            if (backups === 0) return yield* fs.remove(path, { force: true })
            yield* fs.remove(backupPath(path, backups), { force: true })
            for (let n = backups - 1; n >= 1; n--) {
              const from = backupPath(path, n)
              if (yield* fs.exists(from)) yield* fs.rename(from, backupPath(path, n + 1))
            }
            if (yield* fs.exists(path)) yield* fs.rename(path, backupPath(path, 1))
          })

          // Appends lines, rotating between them; one write per run of lines
          // that fits the current file.
          const write = (lines: ReadonlyArray<string>) =>
            Effect.gen(function* () {
              let chunk: Array<Uint8Array> = []
              let chunkBytes = 0
              const flushChunk = Effect.suspend(() => {
                if (chunk.length === 0) return Effect.void
                const data = new Uint8Array(chunkBytes)
                let offset = 0
                for (const part of chunk) {
                  data.set(part, offset)
                  offset += part.length
                }
                chunk = []
                chunkBytes = 0
                return fs.writeFile(path, data, { flag: "a" })
              })
              for (const line of lines) {
                const bytes = encoder.encode(line)
                if (size > 0 && size + bytes.length > maxBytes) {
                  yield* flushChunk
                  yield* rotate
                  size = 0
                }
                chunk.push(bytes)
                chunkBytes += bytes.length
                size += bytes.length
              }
              yield* flushChunk
            }).pipe(
              // A failing disk must not stop the bus: log, drop the batch, go on.
              Effect.catch((error) => Effect.logError("audit write failed", error)),
              lock.withPermit,
              Effect.uninterruptible
            )

          const writer = Effect.forever(Effect.flatMap(Queue.takeAll(queue), write))
          yield* Effect.forkScoped(writer)
          // Runs before the writer is interrupted (finalizers run in reverse).
          yield* Effect.addFinalizer(() => Effect.flatMap(Queue.clear(queue), (rest) => write(rest)))

          const publish: Middleware.PublishMiddleware = (next) => (envelope, definition) =>
            Effect.onExit(next(envelope, definition), (exit) => {
              const status = Exit.isSuccess(exit)
                ? exit.value.status
                : exit.cause.reasons.find((r) => r._tag === "Fail")?.error._tag
              return status === undefined ? Effect.void : Queue.offer(queue, toLine(redact(envelope), status))
            })
          // Events published while the bus drains (system.handler_error, say)
          // are written once it has drained. The bus's own records (its stop)
          // are written straight away, after what is buffered, never queued.
          const record = (envelope: Envelope.Envelope) =>
            Effect.flatMap(Queue.clear(queue), (rest) => write([...rest, toLine(redact(envelope), "recorded")]))
          return { publish, afterDrain: Effect.flatMap(Queue.clear(queue), write), record }
        })
    })
  )
