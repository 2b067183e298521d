/**
 * A hand-written SVG: latency percentiles (p50, p95, p99, p99.9, from the
 * intended send time) per implementation, one panel per rate, log scale, with
 * the 1 ms SLO and the 25 us goal drawn across.
 */
import type { Row } from "../result.ts"

const COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2"]
const KEYS = [
  ["p50Us", "p50"],
  ["p95Us", "p95"],
  ["p99Us", "p99"],
  ["p999Us", "p99.9"]
] as const

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const label = (us: number) => (us >= 1000 ? `${us / 1000} ms` : `${us} us`)

export const latencySvg = (rows: ReadonlyArray<Row>, title: string): string => {
  const lat = rows.filter((r) => r.scenario === "latency")
  const rates = [...new Set(lat.map((r) => r.rate as number))]
  const impls = [...new Set(lat.map((r) => r.impl))]
  const values = lat.flatMap((r) => KEYS.map(([k]) => r[k])).filter((v): v is number => typeof v === "number" && v > 0)
  const lo = 0.1
  const hi = Math.max(2000, ...values) * 1.5
  const W = 960
  const panelH = 260
  const top = 50
  const left = 70
  const plotW = W - left - 20
  const H = top + rates.length * (panelH + 60) + 30
  const y = (v: number, y0: number) => {
    const f = (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
    return y0 + panelH - f * panelH
  }
  const parts: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`
  ]
  KEYS.forEach(([, name], i) => {
    parts.push(`<rect x="${left + i * 80}" y="30" width="12" height="12" fill="${COLORS[i]}"/>`)
    parts.push(`<text x="${left + i * 80 + 16}" y="40">${name}</text>`)
  })
  rates.forEach((rate, pi) => {
    const y0 = top + 20 + pi * (panelH + 60)
    parts.push(
      `<text x="${left}" y="${y0 - 6}" font-weight="bold">${rate / 1000}k ev/s, 5 subscriptions: publish -> handler start (median of repetitions)</text>`
    )
    for (let d = -1; 10 ** d <= hi; d++) {
      const v = 10 ** d
      if (v < lo) continue
      const yy = y(v, y0)
      parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`)
      parts.push(`<text x="${left - 6}" y="${yy + 4}" text-anchor="end" fill="#555">${label(v)}</text>`)
    }
    for (const [v, name, color] of [
      [1000, "SLO 1 ms", "#c00"],
      [25, "goal 25 us", "#080"]
    ] as const) {
      const yy = y(v, y0)
      parts.push(
        `<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="${color}" stroke-dasharray="5,4"/>`
      )
      parts.push(`<text x="${left + plotW - 4}" y="${yy - 4}" text-anchor="end" fill="${color}">${name}</text>`)
    }
    const groupW = plotW / Math.max(1, impls.length)
    const barW = Math.min(24, (groupW - 20) / KEYS.length)
    impls.forEach((impl, gi) => {
      const row = lat.find((r) => r.impl === impl && r.rate === rate)
      const gx = left + gi * groupW + (groupW - barW * KEYS.length) / 2
      KEYS.forEach(([k], ki) => {
        const v = row?.[k]
        if (typeof v !== "number" || !(v > 0)) return
        const yy = y(v, y0)
        parts.push(
          `<rect x="${(gx + ki * barW).toFixed(1)}" y="${yy.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(y0 + panelH - yy).toFixed(1)}" fill="${COLORS[ki]}"><title>${esc(impl)} ${KEYS[ki]![1]}: ${v.toFixed(1)} us</title></rect>`
        )
      })
      parts.push(
        `<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${y0 + panelH + 16}" text-anchor="middle"${impl === "eventfabric" ? ' font-weight="bold"' : ""}>${esc(impl)}</text>`
      )
    })
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y0 + panelH}" y2="${y0 + panelH}" stroke="#333"/>`)
  })
  parts.push("</svg>")
  return `${parts.join("\n")}\n`
}
