/**
 * Generates the bus-options table of `configuration.md` from the Schema:
 * walks `Options.BusOptions`, takes each default from `Options.defaults` and
 * names its environment variable the way `EventBus.layerConfig` reads it
 * (`Config.schema(Options.BusConfig, "eventfabric")` under a constant-case
 * provider).
 *
 *   pnpm exec node docs/gen-config.ts           # print the table
 *   pnpm exec node docs/gen-config.ts --write   # replace it in docs/configuration.md
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Duration } from "effect"
import { Options } from "../packages/core/src/index.ts"

/** What each option means; the Schema carries types and checks, not prose. */
const descriptions: Record<string, string> = {
  "lanes.critical.capacity": "Events the CRITICAL lane holds",
  "lanes.critical.strategy": "What a full CRITICAL lane does (never drops)",
  "lanes.normal.capacity": "Events the NORMAL lane holds",
  "lanes.normal.strategy": "What a full NORMAL lane does",
  "lanes.low.capacity": "Events the LOW lane holds",
  "lanes.low.strategy": "What a full LOW lane does",
  "weights.normal": "NORMAL's share when NORMAL and LOW both have events",
  "weights.low": "LOW's share (never starved)",
  maxConcurrentHandlers: "Handlers running at once, across all subscriptions (re-tunable with `configure`)",
  timeout: "Handler timeout for subscriptions that set none",
  mailbox: "Mailbox capacity for subscriptions that set none; past it deliveries fail `Overflow`",
  shutdownGrace: "How long closing the bus waits for lanes and mailboxes to drain",
  "schedule.capacity": "Delayed publishes (`{ delay }` / `{ at }`) held at once; past it `ScheduleFullError`"
}

interface Ast {
  readonly _tag: string
  readonly propertySignatures?: ReadonlyArray<{ readonly name: PropertyKey; readonly type: Ast }>
  readonly types?: ReadonlyArray<Ast>
  readonly literal?: unknown
  readonly checks?: ReadonlyArray<unknown>
}

/** `optional(X)` is `X | undefined`: see through it. */
const unwrap = (ast: Ast): Ast => {
  if (ast._tag !== "Union" || ast.types === undefined) return ast
  const defined = ast.types.filter((t) => t._tag !== "Undefined")
  return defined.length === 1 ? unwrap(defined[0]!) : { ...ast, types: defined }
}

const describe = (ast: Ast): string => {
  if (ast._tag === "Union" && ast.types!.every((t) => t._tag === "Literal")) {
    return ast.types!.map((t) => `\`${JSON.stringify(t.literal)}\``).join(" \\| ")
  }
  if (ast._tag === "Union") return 'duration (`Duration`, millis, or `"5 seconds"`)'
  if (ast._tag === "Number") return (ast.checks?.length ?? 0) > 0 ? "integer > 0" : "number"
  return ast._tag.toLowerCase()
}

const get = (path: ReadonlyArray<string>): unknown =>
  path.reduce<any>((value, key) => (value === undefined ? undefined : value[key]), Options.defaults)

const seconds = (d: Duration.Duration) => {
  const ms = Duration.toMillis(d)
  return ms % 1000 === 0 ? `${ms / 1000} seconds` : `${ms} millis`
}

const show = (value: unknown): string =>
  Duration.isDuration(value) ? `\`"${seconds(value)}"\`` : `\`${JSON.stringify(value)}\``

const constant = (path: ReadonlyArray<string>) =>
  ["EVENTFABRIC", ...path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase())].join("_")

const rows: Array<string> = []
const walk = (ast: Ast, path: ReadonlyArray<string>) => {
  const node = unwrap(ast)
  if (node._tag === "Objects") {
    for (const p of node.propertySignatures!) walk(p.type, [...path, String(p.name)])
    return
  }
  const key = path.join(".")
  rows.push(
    `| \`${key}\` | ${describe(node)} | ${show(get(path))} | \`${constant(path)}\` | ${descriptions[key] ?? ""} |`
  )
}
walk(Options.BusOptions.ast as unknown as Ast, [])

const table = ["| option | type | default | environment variable | meaning |", "|---|---|---|---|---|", ...rows].join(
  "\n"
)

if (process.argv.includes("--write")) {
  const file = fileURLToPath(new URL("./configuration.md", import.meta.url))
  const text = readFileSync(file, "utf8")
  const begin = "<!-- gen-config:begin -->"
  const end = "<!-- gen-config:end -->"
  const next = text.replace(new RegExp(`${begin}[\\s\\S]*${end}`), `${begin}\n${table}\n${end}`)
  writeFileSync(file, next)
} else {
  console.log(table)
}
