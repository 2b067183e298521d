import { describe, expect, it } from "@effect/vitest"
import { uuidv7 } from "../src/internal/id.ts"

const UUIDv7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe("uuidv7", () => {
  it("is a well-formed version 7, variant 10 UUID", () => {
    expect(uuidv7(1_700_000_000_000)).toMatch(UUIDv7)
  })

  it("sorts in creation order within and across milliseconds, with no repeats", () => {
    const ids: Array<string> = []
    for (let ms = 1_700_000_000_000; ms < 1_700_000_000_005; ms++) {
      for (let i = 0; i < 5000; i++) ids.push(uuidv7(ms))
    }
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    for (const id of ids) expect(id).toMatch(UUIDv7)
  })

  it("stays monotonic when the clock steps back", () => {
    const a = uuidv7(1_800_000_000_000)
    const b = uuidv7(1_799_999_999_000)
    expect(b > a).toBe(true)
  })
})
