/**
 * Redaction: what the egress filter costs per payload, for a typical order
 * payload with nothing to mask and for the same payload carrying an email, a
 * phone number and a password in free text. Each repetition is a child
 * process; each child reports the median of its timed rounds.
 */
import { Redaction } from "@eventfabric/plugins"
import { Effect } from "effect"
import type { Row } from "../result.ts"
import type { Ctx } from "../runner.ts"

interface RedactionJob {
  readonly scenario: "redaction"
  readonly payload: "clean" | "pii"
  readonly iterations: number
}

const clean = {
  orderId: "ORD-20260115-0001",
  customerId: "c-01HZX3K9Q8",
  total: 129.5,
  currency: "EUR",
  items: [
    { sku: "SKU-AB-1234", qty: 2, price: 19.99 },
    { sku: "SKU-CD-5678", qty: 1, price: 89.52 }
  ],
  shipping: { method: "express", city: "Berlin", zip: "10115" },
  placedAt: "2026-01-15T10:20:30.123Z"
}
const pii = {
  ...clean,
  customer: { email: "alice.smith@example.com", phone: "+49 30 901820" },
  note: "call me back, password: hunter2"
}

const ROUNDS = 7

export const measure = async (job: RedactionJob) => {
  const redactor = Effect.runSync(Redaction.make())
  const payload = job.payload === "clean" ? clean : pii
  for (let i = 0; i < job.iterations; i++) redactor.value(payload) // warm-up
  const us: Array<number> = []
  for (let k = 0; k < ROUNDS; k++) {
    const started = performance.now()
    for (let i = 0; i < job.iterations; i++) redactor.value(payload)
    us.push(((performance.now() - started) * 1000) / job.iterations)
  }
  us.sort((a, b) => a - b)
  return { usPerPayload: us[Math.floor(ROUNDS / 2)]! }
}

export const steps = () => 2

export const run = async (ctx: Ctx): Promise<Array<Row>> => {
  const rows: Array<Row> = []
  const reps = Math.max(3, ctx.profile.suite.reps)
  for (const payload of ["clean", "pii"] as const) {
    const runs: Array<number> = []
    for (let k = 0; k < reps; k++) {
      const r = await ctx.run<{ usPerPayload: number }>(`redaction ${payload} payload (${k + 1}/${reps})`, {
        scenario: "redaction",
        payload,
        iterations: 20_000
      } satisfies RedactionJob)
      if (r !== undefined) runs.push(r.usPerPayload)
    }
    runs.sort((a, b) => a - b)
    rows.push({
      scenario: "redaction",
      impl: "eventfabric",
      payload,
      usPerPayload: runs[Math.floor(runs.length / 2)],
      min: runs[0],
      max: runs[runs.length - 1]
    })
  }
  return rows
}
