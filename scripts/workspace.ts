/**
 * The publishable packages of the workspace: every `packages/<dir>` whose
 * package.json is not `private`. The build, the pack check and the API docs
 * all start from this list, so a new package is picked up without editing them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("..", import.meta.url))

export interface Manifest {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  readonly [key: string]: unknown
}

export interface WorkspacePackage {
  readonly dir: string
  readonly path: string
  readonly manifest: Manifest
  /** Other publishable workspace packages it depends on (any dependency kind). */
  readonly internalDeps: ReadonlyArray<string>
}

const readManifest = (path: string): Manifest => JSON.parse(readFileSync(join(path, "package.json"), "utf8"))

/** Publishable packages, dependencies before dependents. */
export const publishable = (): ReadonlyArray<WorkspacePackage> => {
  const dirs = readdirSync(join(root, "packages")).filter((dir) =>
    existsSync(join(root, "packages", dir, "package.json"))
  )
  const all = dirs
    .map((dir) => ({ dir, path: join(root, "packages", dir), manifest: readManifest(join(root, "packages", dir)) }))
    .filter((p) => p.manifest.private !== true)
  const names = new Set(all.map((p) => p.manifest.name))
  const withDeps = all.map((p) => {
    const { dependencies = {}, peerDependencies = {}, devDependencies = {} } = p.manifest
    const deps = Object.keys({ ...dependencies, ...peerDependencies, ...devDependencies })
    return { ...p, internalDeps: deps.filter((d) => names.has(d)) }
  })
  const byName = new Map(withDeps.map((p) => [p.manifest.name, p]))
  const ordered: Array<WorkspacePackage> = []
  const visiting = new Set<string>()
  const visit = (p: WorkspacePackage) => {
    if (ordered.includes(p)) return
    if (visiting.has(p.manifest.name)) throw new Error(`dependency cycle through ${p.manifest.name}`)
    visiting.add(p.manifest.name)
    for (const d of p.internalDeps) visit(byName.get(d)!)
    ordered.push(p)
  }
  for (const p of withDeps) visit(p)
  return ordered
}
