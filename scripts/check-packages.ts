/**
 * Packs every publishable package and installs the tarballs, with npm, into a
 * scratch app in a temporary directory outside the workspace, then checks what
 * a user gets:
 *
 * - each tarball holds `dist/` with `.js`, `.d.ts` and maps, no tests or
 *   benches, a README and a LICENSE; its `exports` point at `dist/`, and no
 *   `workspace:` range is left;
 * - (a) `consumer.mjs` (EventBus and the Promise facade) runs on every Node
 *   given: `--node <binary>` or `--node <version>` (fetched with npm into the
 *   scratch app), repeatable; `--node current` (the default) is the Node
 *   running this script;
 * - (b) `consumer.ts` passes `tsc --noEmit --strict` with `moduleResolution`
 *   `node16` and `bundler`;
 * - (c) esbuild bundles it, and the bundle runs.
 *
 *   pnpm build && pnpm check:packages [--node 22.19.0 --node current ...] [--keep]
 *
 * Prints one line per check and a table of tarball sizes; exits 1 on any failure.
 */
import { execFileSync } from "node:child_process"
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { publishable, root } from "./workspace.ts"

const args = process.argv.slice(2)
const requested = args.flatMap((a, i) => (args[i - 1] === "--node" ? [a] : []))
if (requested.length === 0) requested.push("current")
const keep = args.includes("--keep")

const packages = publishable()
const app = mkdtempSync(join(tmpdir(), "eventfabric-consumer-"))
const tarballs = join(app, "tarballs")
mkdirSync(tarballs)
const failures: Array<string> = []

const run = (file: string, argv: ReadonlyArray<string>, cwd: string): string =>
  execFileSync(file, argv, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

const check = (label: string, body: () => unknown) => {
  try {
    const note = body()
    const text = typeof note === "string" ? note.trim() : ""
    console.log(`ok    ${label}${text ? `  (${text})` : ""}`)
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    failures.push(label)
    console.log(`FAIL  ${label}\n${[e.stdout, e.stderr].filter(Boolean).join("\n") || e.message}`)
  }
}

// Pack. pnpm applies publishConfig.exports and replaces workspace: ranges.
const pnpm = process.env.npm_execpath
const sizes: Array<{ name: string; packed: number; unpacked: number; files: number }> = []
const versions: Record<string, string> = {}
for (const p of packages) {
  const before = new Set(readdirSync(tarballs))
  if (pnpm) run(process.execPath, [pnpm, "pack", "--pack-destination", tarballs], p.path)
  else run("npx", ["-y", "pnpm@10", "pack", "--pack-destination", tarballs], p.path)
  const file = readdirSync(tarballs).find((f) => !before.has(f))!
  versions[p.manifest.name] = `file:./tarballs/${file}`
  const listing = run("tar", ["-tvzf", join(tarballs, file)], app)
    .trim()
    .split("\n")
  const paths = listing.map((line) =>
    line
      .split(/\s+/)
      .at(-1)!
      .replace(/^package\//, "")
  )
  const unpacked = listing.reduce((n, line) => n + Number(line.split(/\s+/)[2]), 0)
  sizes.push({ name: p.manifest.name, packed: statSync(join(tarballs, file)).size, unpacked, files: paths.length })
  check(`${p.manifest.name}: tarball contents`, () => {
    const manifest = JSON.parse(run("tar", ["-xzOf", join(tarballs, file), "package/package.json"], app))
    const problems = [
      ...["dist/index.js", "dist/index.d.ts", "dist/index.js.map", "dist/index.d.ts.map", "README.md", "LICENSE"]
        .filter((f) => !paths.includes(f))
        .map((f) => `missing ${f}`),
      ...paths.filter((f) => /(^|\/)(test|bench)\/|\.test\.|tsbuildinfo/.test(f)).map((f) => `ships ${f}`),
      ...(JSON.stringify(manifest).includes("workspace:") ? ["a workspace: range is left"] : []),
      ...(manifest.exports?.["."]?.default === "./dist/index.js" ? [] : ["exports do not point at dist/"]),
      ...(manifest.exports?.["./internal/*"] === null ? [] : ["./internal/* is exported"]),
      ...paths
        .filter((f) => f.startsWith("src/") && !f.endsWith(".ts") && !paths.includes(`dist/${f.slice(4)}`))
        .map((f) => `${f} is not copied to dist/ (read at run time beside the module)`),
      ...(manifest.engines?.node ? [] : ["no engines.node"]),
      ...(manifest.repository ? [] : ["no repository"])
    ]
    const emitted = paths.filter((f) => f.startsWith("dist/") && f.endsWith(".js"))
    for (const f of emitted) {
      const js = run("tar", ["-xzOf", join(tarballs, file), `package/${f}`], app)
      if (/from\s+"\.{1,2}\/[^"]*\.ts"/.test(js)) problems.push(`${f} imports a .ts file`)
    }
    if (problems.length > 0) throw new Error(problems.join("\n"))
    return `${paths.length} files`
  })
}

// The scratch app: the tarballs, their peers at the workspace's pins, the tools.
const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const peers: Record<string, string> = {}
for (const p of packages) {
  for (const peer of Object.keys(p.manifest.peerDependencies ?? {})) {
    if (!versions[peer]) peers[peer] = p.manifest.devDependencies?.[peer] ?? p.manifest.peerDependencies![peer]!
  }
}
writeFileSync(
  join(app, "package.json"),
  JSON.stringify({
    name: "consumer",
    private: true,
    type: "module",
    dependencies: { ...versions, ...peers },
    devDependencies: {
      typescript: rootManifest.devDependencies.typescript,
      "@types/node": rootManifest.devDependencies["@types/node"],
      esbuild: "^0.25.0"
    }
  })
)
for (const f of ["consumer.mjs", "consumer.ts"]) copyFileSync(join(root, "scripts", "consumer", f), join(app, f))
// Every package, new ones included: loaded by consumer.mjs, type-checked through imports.ts.
writeFileSync(join(app, "packages.json"), JSON.stringify(packages.map((p) => p.manifest.name)))
writeFileSync(join(app, "imports.ts"), packages.map((p, i) => `export * as p${i} from "${p.manifest.name}"\n`).join(""))
const tsconfig = (moduleResolution: string, module: string) => ({
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2022", "DOM"],
    module,
    moduleResolution,
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    types: ["node"]
  },
  files: ["consumer.ts", "imports.ts"]
})
writeFileSync(join(app, "tsconfig.node16.json"), JSON.stringify(tsconfig("node16", "node16")))
writeFileSync(join(app, "tsconfig.bundler.json"), JSON.stringify(tsconfig("bundler", "preserve")))

check("npm install of the tarballs", () => {
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], app)
})
const nodes = requested.flatMap((wanted) => {
  if (wanted === "current") return [process.execPath]
  if (!/^\d+(\.\d+){0,2}$/.test(wanted)) return [wanted]
  const dir = join(app, `node-${wanted}`)
  mkdirSync(dir)
  try {
    run(
      "npm",
      ["install", "--prefix", dir, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", `node@${wanted}`],
      app
    )
    return [join(dir, "node_modules", "node", "bin", "node")]
  } catch (error) {
    failures.push(`fetch Node ${wanted}`)
    console.log(`FAIL  fetch Node ${wanted}: ${(error as Error).message}`)
    return []
  }
})
for (const node of nodes) {
  const version = run(node, ["--version"], app).trim()
  check(`(a) plain .mjs on Node ${version}`, () => run(node, ["consumer.mjs"], app))
}
const tsc = join(app, "node_modules", "typescript", "bin", "tsc")
check("(b) tsc --strict, moduleResolution node16", () =>
  run(process.execPath, [tsc, "-p", "tsconfig.node16.json"], app)
)
check("(b) tsc --strict, moduleResolution bundler", () =>
  run(process.execPath, [tsc, "-p", "tsconfig.bundler.json"], app)
)
const esbuild = join(app, "node_modules", ".bin", "esbuild")
check("(c) esbuild bundle of consumer.ts", () => {
  run(
    esbuild,
    ["consumer.ts", "--bundle", "--platform=node", "--format=esm", "--outfile=bundle.mjs", "--log-level=error"],
    app
  )
  return `${Math.round(statSync(join(app, "bundle.mjs")).size / 1024)} kB`
})
for (const node of nodes) {
  const version = run(node, ["--version"], app).trim()
  check(`(c) the bundle runs on Node ${version}`, () => run(node, ["bundle.mjs"], app))
}

console.log("\n| package | tarball | unpacked | files |\n| --- | ---: | ---: | ---: |")
for (const s of sizes) {
  console.log(`| ${s.name} | ${(s.packed / 1024).toFixed(1)} kB | ${(s.unpacked / 1024).toFixed(1)} kB | ${s.files} |`)
}
if (keep) console.log(`\nscratch app kept in ${app}`)
else rmSync(app, { recursive: true, force: true })
if (failures.length > 0) {
  console.error(`\n${failures.length} check(s) failed: ${failures.join("; ")}`)
  process.exit(1)
}
