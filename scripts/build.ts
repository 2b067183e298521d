/**
 * Builds every publishable package to `dist/` (ESM `.js`, `.d.ts`, declaration
 * and source maps) with `tsc -b`. Development never needs this: inside the
 * workspace `exports` point at `src/*.ts`; `publishConfig.exports` (applied by
 * `pnpm pack` / `pnpm publish`) points at `dist/`.
 *
 *   pnpm build
 *
 * Each package needs a `tsconfig.build.json` extending the root one, with a
 * reference per workspace package it imports; this script says which is
 * missing rather than letting tsc fail on a source file outside `rootDir`.
 */
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join, relative } from "node:path"
import { publishable, root } from "./workspace.ts"

const packages = publishable()
const dirOf = new Map(packages.map((p) => [p.manifest.name, p.dir]))
const problems: Array<string> = []
for (const p of packages) {
  const config = join(p.path, "tsconfig.build.json")
  if (!existsSync(config)) {
    problems.push(`${p.dir}: add tsconfig.build.json: { "extends": "../../tsconfig.build.json", "references": [...] }`)
    continue
  }
  const references: Array<{ path: string }> = JSON.parse(readFileSync(config, "utf8")).references ?? []
  const referenced = new Set(references.map((r) => join(p.path, r.path)))
  for (const dep of p.internalDeps) {
    const wanted = join(root, "packages", dirOf.get(dep)!, "tsconfig.build.json")
    if (!referenced.has(wanted)) {
      problems.push(`${p.dir}/tsconfig.build.json: add { "path": "${relative(p.path, wanted)}" } to references`)
    }
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"))
  process.exit(1)
}
for (const p of packages) rmSync(join(p.path, "dist"), { recursive: true, force: true })
const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
execFileSync(process.execPath, [tsc, "-b", ...packages.map((p) => join(p.path, "tsconfig.build.json"))], {
  stdio: "inherit",
  cwd: root
})
// Files under src/ that are not TypeScript (a page's html/css/js, say) are read at
// run time relative to the module, so they go to the same place under dist/.
const assets = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? assets(join(dir, e.name)) : e.name.endsWith(".ts") ? [] : [join(dir, e.name)]
  )
for (const p of packages) {
  for (const file of assets(join(p.path, "src"))) {
    const target = join(p.path, "dist", relative(join(p.path, "src"), file))
    cpSync(file, target)
  }
}
console.log(`built ${packages.map((p) => p.manifest.name).join(", ")}`)
