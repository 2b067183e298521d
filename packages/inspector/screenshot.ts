/**
 * Regenerates `docs/inspector.png` and `docs/inspector-phone.png` (the
 * README's pictures, at 1280 and 390 px): runs the demo bus
 * with the inspector, waits until its payment gateway's circuit has opened
 * and dead letters have piled up, then photographs the page in headless
 * Chromium (Debian's `chromium`; no browser is downloaded).
 *
 *   pnpm inspect:screenshot
 *
 * @since 0.1.0
 */
import { fileURLToPath } from "node:url"
import { Effect, Layer, Redacted } from "effect"
import { demoLayer } from "./demo.ts"
import { Routes } from "./src/index.ts"
import { launch } from "./test/browser.ts"

const out = fileURLToPath(new URL("./docs/inspector.png", import.meta.url))
const phone = fileURLToPath(new URL("./docs/inspector-phone.png", import.meta.url))
const TOKEN = "screenshot"

const program = Effect.gen(function* () {
  const url = yield* Routes.url
  const browser = yield* Effect.acquireRelease(
    Effect.promise(() => launch()),
    (b) => Effect.promise(() => b.close())
  )
  const page = yield* Effect.promise(() => browser.newPage())
  yield* Effect.promise(() => page.goto(url))
  yield* Effect.promise(() => page.fill("#token", TOKEN))
  yield* Effect.promise(() => page.click("#unlock"))
  // The gateway goes down 3 s in; its circuit opens after 5 failures, and probes after 4 s.
  yield* Effect.promise(() =>
    page.waitForSelector("#subscriptions .state-open, #subscriptions .state-half-open", { timeout: 30_000 })
  )
  yield* Effect.sleep("3 seconds")
  // A CircuitOpen entry: its cause is a sentence, not a stack trace with file paths.
  yield* Effect.promise(() => page.click('#dlq tbody tr.clickable:has(td:text-is("CircuitOpen"))'))
  yield* Effect.promise(() => page.waitForSelector("#entry:not([hidden])"))
  yield* Effect.promise(() => page.screenshot({ path: out, fullPage: true }))
  yield* Effect.log(`wrote ${out}`)
  const small = yield* Effect.promise(() => browser.newPage())
  yield* Effect.promise(() => small.setViewportSize({ width: 390, height: 844 }))
  yield* Effect.promise(() => small.goto(url))
  yield* Effect.promise(() => small.waitForSelector("#subscriptions tr[data-subscription]"))
  yield* Effect.sleep("2 seconds")
  yield* Effect.promise(() => small.screenshot({ path: phone, fullPage: false }))
  yield* Effect.log(`wrote ${phone}`)
})

Effect.runPromise(
  Effect.scoped(program).pipe(Effect.provide(demoLayer({ port: 0, token: Redacted.make(TOKEN) }).pipe(Layer.orDie)))
).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
