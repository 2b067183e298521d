/**
 * Type-checks every JSDoc `@example` (and each ```ts block of the package
 * README) of every publishable package: each
 * ```ts block becomes a module in `packages/<dir>/.examples/` (so it resolves
 * `effect`, the package itself and its dependencies as a user's file would),
 * and one `tsc` run checks them all. Errors are reported at the example's line
 * in the source file.
 *
 *   pnpm check:examples
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { readModule, sourceFiles } from "./jsdoc.ts"
import { publishable, root } from "./workspace.ts"

interface Origin {
  readonly source: string
  readonly line: number
  readonly name: string
}

const origins = new Map<string, Origin>()
let count = 0
for (const pkg of publishable()) {
  const dir = join(pkg.path, ".examples")
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir)
  for (const file of sourceFiles(pkg)) {
    const mod = readModule(file)
    const stem = relative(join(pkg.path, "src"), file).replace(/\.ts$/, "").replaceAll("/", "_")
    for (const doc of mod.docs) {
      for (const [i, example] of doc.examples.entries()) {
        const name = `${stem}.${doc.name.replace(/[^\w.]/g, "")}.${i}.ts`
        // `export {}` keeps each example its own module even without an import.
        writeFileSync(join(dir, name), `${example.code}\nexport {}\n`)
        origins.set(relative(root, join(dir, name)), { source: mod.file, line: example.line, name: doc.name })
        count++
      }
    }
  }
  // The package's README shows code too; it must compile as well.
  const readme = join(pkg.path, "README.md")
  if (existsSync(readme)) {
    const fences = [...readFileSync(readme, "utf8").matchAll(/```ts\n([\s\S]*?)```/g)]
    for (const [i, fence] of fences.entries()) {
      const name = `README.${i}.ts`
      const before = readFileSync(readme, "utf8").slice(0, fence.index)
      writeFileSync(join(dir, name), `${fence[1]}\nexport {}\n`)
      origins.set(relative(root, join(dir, name)), {
        source: relative(root, readme),
        line: before.split("\n").length + 1,
        name: "README"
      })
      count++
    }
  }
}

const config = join(root, "tsconfig.examples.json")
writeFileSync(
  config,
  `${JSON.stringify(
    {
      extends: "./tsconfig.base.json",
      compilerOptions: { noUnusedLocals: false, noUnusedParameters: false },
      include: ["packages/*/.examples/*.ts"]
    },
    null,
    2
  )}\n`
)
const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
let output = ""
try {
  execFileSync(process.execPath, [tsc, "-p", config, "--pretty", "false"], { cwd: root, encoding: "utf8" })
} catch (error) {
  output = (error as { stdout: string }).stdout
}
const errors = output
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((line) => {
    const m = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line)
    const origin = m ? origins.get(m[1]!) : undefined
    if (!m || !origin) return line
    return `${origin.source}:${origin.line + Number(m[2]) - 1}:${m[3]} (@example of ${origin.name}): ${m[4]}`
  })
rmSync(config)
if (errors.length > 0) {
  console.error(errors.join("\n"))
  console.error(`\n${errors.length} error(s) in ${count} @example blocks`)
  process.exit(1)
}
for (const pkg of publishable()) rmSync(join(pkg.path, ".examples"), { recursive: true, force: true })
console.log(`${count} @example blocks type-check`)
