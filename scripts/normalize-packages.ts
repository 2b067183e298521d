/**
 * Gives every publishable package (packages/* without `"private": true`) what
 * a package of this workspace needs to build, pack and install:
 *
 * - package.json: `exports` at `src/*.ts` for development, `publishConfig.exports`
 *   at `dist/` (`types` + `default`, `./internal/*` closed), `files`,
 *   `sideEffects` (kept if set), `engines`, `license`, `repository`,
 *   `keywords` (kept if set); `effect`, `@effect/*` and `@eventfabric/*`
 *   moved from `dependencies` to `peerDependencies` with the pin kept in
 *   `devDependencies`;
 * - `tsconfig.build.json` extending the root one, referencing the workspace
 *   packages it depends on;
 * - a LICENSE (the root's); a README is reported when missing (it is prose).
 *
 *   node scripts/normalize-packages.ts          # write, then `pnpm install`
 *   node scripts/normalize-packages.ts --check  # exit 1 listing what differs
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { type Manifest, publishable, root } from "./workspace.ts"

const check = process.argv.includes("--check")
const FLOOR = ">=22.19.0" // Effect 4's minimum on Node.js; CI runs the tarballs on it
const REPOSITORY = "git+https://github.com/eventfabric/eventfabric.git"
const isPeer = (name: string) => name === "effect" || name.startsWith("@effect/") || name.startsWith("@eventfabric/")

const problems: Array<string> = []

/** Packages the sources import (bare specifiers, `node:` builtins aside). */
const importedBy = (dir: string): Set<string> => {
  const found = new Set<string>()
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name))
      else if (e.name.endsWith(".ts")) {
        const text = readFileSync(join(d, e.name), "utf8").replace(/\/\*[\s\S]*?\*\//g, "")
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"([^".][^"]*)"/g)) {
          const spec = m[1]!
          if (spec.startsWith("node:")) continue
          found.add(
            spec
              .split("/")
              .slice(0, spec.startsWith("@") ? 2 : 1)
              .join("/")
          )
        }
      }
    }
  }
  walk(join(dir, "src"))
  return found
}
const packages = publishable()
const dirOf = new Map(packages.map((p) => [p.manifest.name, p.dir]))

// Compared as JSON values (key order included), so formatting alone is no difference.
const writeJson = (file: string, value: unknown) => {
  const current = existsSync(file) ? JSON.stringify(JSON.parse(readFileSync(file, "utf8"))) : undefined
  if (current === JSON.stringify(value)) return
  if (check) problems.push(`${relative(root, file)} is not normalized`)
  else writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
}

for (const pkg of packages) {
  // A textual merge of two package.json edits can leave a key twice; JSON.parse
  // keeps the last one silently, losing the other's dependencies.
  const raw = readFileSync(join(pkg.path, "package.json"), "utf8")
  const keys = [...raw.matchAll(/^ {2}"([^"]+)":/gm)].map((k) => k[1]!)
  const twice = keys.filter((k, i) => keys.indexOf(k) !== i)
  if (twice.length > 0) {
    problems.push(`packages/${pkg.dir}/package.json has ${twice.join(", ")} twice (a merge?): join them by hand`)
    continue
  }
  const m: Manifest = pkg.manifest
  const dependencies = { ...m.dependencies }
  const peerDependencies = { ...m.peerDependencies }
  const devDependencies = { ...m.devDependencies }
  // Imported by src but only a devDependency (a merge can do that): a consumer would not get it.
  for (const name of importedBy(pkg.path)) {
    if (name === m.name || name in dependencies || name in peerDependencies) continue
    if (name in devDependencies && isPeer(name)) dependencies[name] = devDependencies[name]!
    else problems.push(`packages/${pkg.dir}: src imports ${name}, which is not in dependencies or peerDependencies`)
  }
  for (const [name, range] of Object.entries(dependencies)) {
    if (!isPeer(name)) continue
    delete dependencies[name]
    if (name.startsWith("@eventfabric/")) {
      peerDependencies[name] = "workspace:^"
      devDependencies[name] = "workspace:*"
    } else {
      peerDependencies[name] = `^${range.replace(/^[\^~]/, "")}`
      devDependencies[name] = range
    }
  }
  const {
    name,
    version,
    description,
    keywords,
    sideEffects,
    dependencies: _d,
    peerDependencies: _p,
    devDependencies: _v,
    license: _l,
    repository: _r,
    type: _t,
    engines: _e,
    exports: _x,
    files: _f,
    publishConfig: _c,
    ...rest
  } = m
  const normalized = {
    name,
    version,
    description,
    keywords: keywords ?? ["effect", "event-bus", "events", "typescript"],
    license: "MIT",
    repository: { type: "git", url: REPOSITORY, directory: `packages/${pkg.dir}` },
    type: "module",
    sideEffects: sideEffects ?? false,
    engines: { node: FLOOR },
    ...rest,
    exports: { ".": "./src/index.ts", "./internal/*": null, "./*": "./src/*.ts" },
    files: ["dist", "!dist/.tsbuildinfo", "src", "README.md", "LICENSE", "CHANGELOG.md"],
    publishConfig: {
      access: "public",
      exports: {
        ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
        "./internal/*": null,
        "./*": { types: "./dist/*.d.ts", default: "./dist/*.js" }
      }
    },
    ...(Object.keys(dependencies).length > 0 ? { dependencies } : {}),
    ...(Object.keys(peerDependencies).length > 0 ? { peerDependencies } : {}),
    ...(Object.keys(devDependencies).length > 0 ? { devDependencies } : {})
  }
  writeJson(join(pkg.path, "package.json"), normalized)

  const references = pkg.internalDeps.map((d) => ({ path: `../${dirOf.get(d)}/tsconfig.build.json` }))
  const config = { extends: "../../tsconfig.build.json", ...(references.length > 0 ? { references } : {}) }
  writeJson(join(pkg.path, "tsconfig.build.json"), config)

  const license = join(pkg.path, "LICENSE")
  if (!existsSync(license) || readFileSync(license, "utf8") !== readFileSync(join(root, "LICENSE"), "utf8")) {
    if (check) problems.push(`packages/${pkg.dir}/LICENSE is missing or differs from the root's`)
    else copyFileSync(join(root, "LICENSE"), license)
  }
  if (!existsSync(join(pkg.path, "README.md"))) problems.push(`packages/${pkg.dir}/README.md is missing: write one`)
}
if (problems.length > 0) {
  console.error(problems.join("\n"))
  process.exit(1)
}
console.log(`${check ? "checked" : "normalized"} ${packages.map((p) => p.manifest.name).join(", ")}`)
