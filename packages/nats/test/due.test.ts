import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { dueAt } from "../src/internal/due.ts"

describe("the due time of a scheduled publish", () => {
  it("junk `delay` / `at` values are refused with a message naming the field, never thrown", () => {
    fc.assert(
      fc.property(
        fc.option(fc.anything(), { nil: undefined }),
        fc.option(fc.anything(), { nil: undefined }),
        (delay, at) => {
          const due = dueAt(1_000, { delay, at } as never)
          if (typeof due === "string") expect(due).toMatch(/`(delay|at)`/)
          else expect(Number.isFinite(due) && due >= 1_000).toBe(true) // never before now
        }
      ),
      { numRuns: 2_000 }
    )
  })

  it("a delay adds to now; an `at` later than that wins", () => {
    expect(dueAt(1_000, { delay: "2 seconds" })).toBe(3_000)
    expect(dueAt(1_000, { delay: 500, at: 9_000 })).toBe(9_000)
    expect(dueAt(1_000, { delay: "2 seconds", at: new Date(2_000) })).toBe(3_000)
    expect(dueAt(1_000, { delay: "-1 seconds" as never })).toMatch(/delay/)
    expect(dueAt(1_000, { at: new Date(Number.NaN) })).toMatch(/at/)
  })
})
