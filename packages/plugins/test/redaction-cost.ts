/**
 * Cost of redacting a typical payload (run: `node packages/plugins/test/redaction-cost.ts`).
 * Prints ns/op for a clean payload (nothing to mask), a dirty one, and an
 * envelope through `redact`. Median of 7 rounds.
 */
import { Effect } from "effect"
import * as Redaction from "../src/Redaction.ts"

const redactor = Effect.runSync(Redaction.make())

const clean = {
  orderId: "ORD-20260115-0001",
  customerId: "550e8400-e29b-41d4-a716-446655440000",
  placedAt: "2026-01-15T10:20:30.123Z",
  currency: "EUR",
  total: 129.95,
  items: [
    { sku: "SKU-AB-1234", qty: 2, price: 19.99, name: "Blue mug" },
    { sku: "SKU-CD-5678", qty: 1, price: 89.97, name: "Tea kettle, 1.7 l" }
  ],
  shipping: { method: "express", city: "Lyon", country: "FR" }
}
const dirty = {
  ...clean,
  customer: { email: "alice@example.com", phone: "+33 1 23 45 67 89", password: "hunter2" },
  note: "card 4111 1111 1111 1111, ip 10.0.0.1"
}
const envelope = {
  id: "0190f0f0-0000-7000-8000-000000000000",
  type: "orders.placed",
  payload: clean,
  priority: "normal" as const,
  publishedAt: 0,
  attempt: 1,
  headers: { "x-request-id": "r-1" }
}

const measure = (label: string, f: () => unknown) => {
  const n = 20_000
  for (let i = 0; i < n; i++) f()
  const rounds: Array<number> = []
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) f()
    rounds.push(Number(process.hrtime.bigint() - t0) / n)
  }
  rounds.sort((a, b) => a - b)
  console.log(`${label.padEnd(40)} ${rounds[3]!.toFixed(0).padStart(7)} ns/op`)
}

measure("value(clean payload, 14 strings)", () => redactor.value(clean))
measure("value(dirty payload, 5 secrets)", () => redactor.value(dirty))
measure("redact(envelope with clean payload)", () => redactor.redact(envelope))
measure("string('ORD-20260115-0001')", () => redactor.string("ORD-20260115-0001"))
