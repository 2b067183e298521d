/** Result rows as written to latest.json: DESIGN.md's field names, plus min/max and ratios. */
export interface Row {
  readonly scenario: string
  readonly impl: string
  readonly [key: string]: unknown
}

export interface Target {
  readonly name: string
  readonly value: number
  readonly limit: number
  readonly unit: string
  /** `max`: value must stay below (or at) the limit; `min`: above (or at). */
  readonly kind: "max" | "min"
  /** Strict comparison (`<` / `>`) rather than `<=` / `>=`. */
  readonly strict: boolean
  readonly gated: boolean
  readonly pass: boolean
  readonly note?: string | undefined
}
