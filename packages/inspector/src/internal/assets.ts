/**
 * The page's files, read once when the routes are built. uPlot comes from
 * the package's own dependency: nothing is loaded from a CDN.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

export interface Asset {
  readonly body: Uint8Array
  readonly contentType: string
}

const own = (name: string) => readFileSync(new URL(`../static/${name}`, import.meta.url))

const uplot = (file: string) => {
  const require = createRequire(import.meta.url)
  return readFileSync(require.resolve(`uplot/dist/${file}`))
}

export const load = (): ReadonlyMap<string, Asset> =>
  new Map<string, Asset>([
    ["/app.js", { body: own("app.js"), contentType: "text/javascript; charset=utf-8" }],
    ["/app.css", { body: own("app.css"), contentType: "text/css; charset=utf-8" }],
    ["/uplot.js", { body: uplot("uPlot.iife.min.js"), contentType: "text/javascript; charset=utf-8" }],
    ["/uplot.css", { body: uplot("uPlot.min.css"), contentType: "text/css; charset=utf-8" }]
  ])

/** The page, with its `<base>` pointing at the mount prefix so relative URLs work under any prefix. */
export const page = (prefix: string): string =>
  readFileSync(new URL("../static/index.html", import.meta.url), "utf8").replace(
    "%BASE%",
    `${prefix.replace(/\/+$/, "").replace(/[^A-Za-z0-9/_.~-]/g, encodeURIComponent)}/`
  )
