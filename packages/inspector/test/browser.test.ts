/**
 * The page in a real browser: Debian's headless Chromium driven by
 * playwright-core, against the demo bus with its traffic. Skips with one line
 * when chromium is not installed; under CI=true that is a failure.
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EventBus, Plugin } from "@eventfabric/core"
import { DeadLetterQueue } from "@eventfabric/plugins"
import { Effect, Exit, Layer, ManagedRuntime, Option, Redacted, Scope } from "effect"
import type { BrowserContext, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { demoLayer, OrderPlaced } from "../demo.ts"
import { BusRecords, Routes } from "../src/index.ts"
import * as Browser from "./browser.ts"

const executable = Browser.find()
const ci = process.env.CI === "true"
if (executable === undefined && !ci) {
  console.log("inspector browser suite skipped: chromium not found at /usr/bin/chromium (apt-get install -y chromium)")
}

const TOKEN = "browser-test-token"
const failing = new Set<string>()
const delivered: Array<string> = []

const runtime = ManagedRuntime.make(
  demoLayer({
    port: 0,
    token: Redacted.make(TOKEN),
    burst: 60,
    hooks: {
      failOrder: (id) => failing.has(id),
      delivered: (id, attempt) => {
        if (id.startsWith("o-browser")) delivered.push(`${id}#${attempt}`)
      }
    }
  }).pipe(Layer.orDie)
)

let context: BrowserContext
let url: string

describe.skipIf(executable === undefined && !ci)("the inspector in a real browser", () => {
  beforeAll(async () => {
    if (executable === undefined) throw new Error("CI=true and chromium is missing: apt-get install -y chromium")
    url = await runtime.runPromise(Routes.url)
    context = await Browser.launch()
  })

  afterAll(async () => {
    await context?.close()
    await runtime.dispose()
  })

  /** A page that records every console error, page error and failed request. */
  const open = async (viewport = { width: 1280, height: 900 }) => {
    const page = await context.newPage()
    await page.setViewportSize(viewport)
    const errors: Array<string> = []
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`)
    })
    page.on("pageerror", (e) => errors.push(`page: ${e.message}`))
    page.on("requestfailed", (r) => {
      if (!r.url().endsWith("/api/stream")) errors.push(`request: ${r.url()} ${r.failure()?.errorText}`)
    })
    await page.goto(url)
    await page.waitForFunction(() => document.getElementById("live")?.textContent === "live")
    await page.waitForSelector("#subscriptions tr[data-subscription=fulfilment]")
    return { page, errors }
  }

  const number = (page: Page, selector: string) =>
    page.$eval(selector, (e) => Number((e.textContent ?? "").replace(/[^0-9.]/g, "")))

  it("loads the page with no console errors, every panel filled", async () => {
    const { page, errors } = await open()
    // Let a few live updates render.
    await page.waitForFunction(() => Number(document.querySelectorAll("#lanes tr[data-lane]").length) === 3)
    await page.waitForTimeout(2_500)
    assert.deepStrictEqual(errors, [])
    assert.strictEqual(await page.locator("#subscriptions tr[data-subscription]").count(), 5)
    assert.strictEqual(await page.locator(".chart canvas").count(), 2)
    // What the bus runs, from its stats: fulfilment orders by key, the mailer's mailbox drops when full.
    const row = (name: string) => page.locator(`#subscriptions tr[data-subscription="${name}"]`)
    assert.strictEqual(await row("fulfilment").locator("td.order").textContent(), "keyed")
    assert.strictEqual(await row("fulfilment").locator(".selector").textContent(), "orders.placed")
    assert.strictEqual((await row("welcome-mailer").locator(".strategy").textContent())?.trim(), "dropping")
    assert.strictEqual(await row("payment-gateway").locator("td.order").textContent(), "unordered")
    await page.close()
  })

  it("moves the numbers while events flow", async () => {
    const { page } = await open()
    const before = await number(page, "[data-testid=published-total]")
    const handled = await number(page, "#subscriptions tr[data-subscription=fulfilment] td:nth-child(6)")
    await page.waitForFunction(
      (b) => Number(document.querySelector("[data-testid=published-total]")!.textContent!.replace(/[^0-9]/g, "")) > b,
      before,
      { timeout: 10_000 }
    )
    await page.waitForFunction(
      (h) =>
        Number(
          document
            .querySelector("#subscriptions tr[data-subscription=fulfilment] td:nth-child(6)")!
            .textContent!.replace(/[^0-9]/g, "")
        ) > h,
      handled,
      { timeout: 10_000 }
    )
    assert.isAbove(await number(page, "[data-testid=published-rate]"), 0)
    await page.close()
  })

  it("retries a dead letter from the page: it leaves the DLQ and is delivered", async () => {
    const orderId = "o-browser-1"
    failing.add(orderId)
    const envelopeId = await runtime.runPromise(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const receipt = yield* bus.publish(OrderPlaced, { orderId, email: "shopper@example.com", total: 1 })
        return receipt.id
      })
    )
    const id = DeadLetterQueue.entryId("fulfilment", envelopeId)
    const stored = Effect.map(
      Effect.flatMap(DeadLetterQueue.DeadLetterQueue, (dlq) => dlq.get(id)),
      Option.isSome
    )
    for (let i = 0; i < 100 && !(await runtime.runPromise(stored)); i++) await new Promise((r) => setTimeout(r, 50))
    assert.isTrue(await runtime.runPromise(stored), "the order was dead-lettered")
    failing.delete(orderId)

    const { page } = await open()
    await page.fill("#token", TOKEN)
    await page.click("#unlock")
    await page.waitForFunction(() => document.getElementById("mode")?.textContent === "unlocked")
    await page.waitForSelector("#f-subscription option[value=fulfilment]", { state: "attached" })
    await page.selectOption("#f-subscription", "fulfilment")
    const row = page.locator(`#dlq tr[data-id="${id}"]`)
    await row.click()
    await page.waitForSelector("#entry:not([hidden])")
    const body = await page.textContent("#entry-body")
    assert.include(body ?? "", orderId)
    assert.notInclude(body ?? "", "shopper@example.com")
    await page.click("[data-testid=entry-retry]")
    await page.waitForSelector("dialog#confirm[open]")
    await page.click("[data-testid=confirm-ok]")
    await page.waitForFunction(() => /delivered/.test(document.getElementById("dlq-message")?.textContent ?? ""))
    await row.waitFor({ state: "detached" })
    assert.isFalse(await runtime.runPromise(stored))
    assert.include(delivered, `${orderId}#3`)
    await page.close()
  })

  it("refuses a mutation without the token (401) and keeps a wrong token locked out", async () => {
    const { page } = await open()
    const statuses = await page.evaluate(async (wrong) => {
      const post = (headers: Record<string, string>) =>
        fetch("api/dlq/purge", {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: "{}"
        })
      return [(await post({})).status, (await post({ authorization: `Bearer ${wrong}` })).status]
    }, `${TOKEN}-wrong`)
    assert.deepStrictEqual(statuses, [401, 401])
    await page.fill("#token", "not-the-token")
    await page.click("#unlock")
    await page.waitForFunction(() => /401/.test(document.getElementById("dlq-message")?.textContent ?? ""))
    assert.strictEqual(await page.textContent("#mode"), "locked")
    assert.isTrue(await page.isDisabled("[data-testid=purge]"))
    assert.isAbove(await number(page, "[data-testid=dlq-size]"), -1)
    await page.close()
  })

  it("lists the bus stopping and stopped in the system events when the bus stops under an open page", async () => {
    // The bus in a scope of its own, with the plugin that hands over its stop records.
    const busScope = Effect.runSync(Scope.make())
    const busContext = await Effect.runPromise(
      Layer.buildWithScope(
        EventBus.EventBus.layer().pipe(
          Layer.provide(Plugin.layer(BusRecords.plugin())),
          Layer.provideMerge(BusRecords.layer)
        ),
        busScope
      )
    )
    const served = ManagedRuntime.make(
      Routes.layerServer({ port: 0, interval: "200 millis" }).pipe(
        Layer.provide(Layer.succeedContext(busContext)),
        Layer.orDie
      )
    )
    try {
      const page = await context.newPage()
      await page.goto(await served.runPromise(Routes.url))
      await page.waitForFunction(() => document.getElementById("live")?.textContent === "live")
      await Effect.runPromise(Scope.close(busScope, Exit.void))
      await page.waitForSelector("#events .type.stop >> text=bus_stopped")
      const listed = await page.locator("#events .type").allTextContents()
      assert.includeMembers(listed, ["bus_stopping", "bus_stopped"])
      assert.strictEqual(await page.textContent("#live"), "bus closed")
      await page.close()
    } finally {
      await served.dispose()
    }
  })

  for (const width of [1280, 390]) {
    it(`fits a ${width} px wide screen: no sideways scrolling, charts and tables inside the viewport`, async () => {
      const { page, errors } = await open({ width, height: 844 })
      await page.waitForTimeout(1_500)
      const layout = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
        cards: Array.from(document.querySelectorAll("section.card:not([hidden])")).map(
          (e) => e.getBoundingClientRect().right
        ),
        canvases: Array.from(document.querySelectorAll(".chart canvas")).map((e) => e.getBoundingClientRect().right)
      }))
      assert.isAtMost(layout.scroll, layout.inner)
      for (const right of [...layout.cards, ...layout.canvases]) assert.isAtMost(right, layout.inner + 0.5)
      assert.strictEqual(layout.canvases.length, 2)
      assert.deepStrictEqual(errors, [])
      await page.screenshot({ path: join(tmpdir(), `inspector-${width}.png`), fullPage: true })
      await page.close()
    })
  }
})
