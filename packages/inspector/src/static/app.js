// The inspector page. Plain browser JavaScript, no build step. Every value
// from the bus is written with textContent, never parsed as HTML: payloads and
// causes are user data.
;(() => {
  const TOKEN_KEY = "eventfabric-inspector-token"
  const MAX_POINTS = 300
  const state = {
    readOnly: true,
    hasDlq: false,
    token: sessionStorage.getItem(TOKEN_KEY) ?? "",
    authorized: false,
    points: [],
    events: [],
    lastDlq: "",
    entryId: undefined,
    charts: {}
  }

  const $ = (id) => document.getElementById(id)

  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (v === undefined || v === null) continue
      if (k === "class") node.className = v
      else if (k === "text") node.textContent = v
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v)
      else node.setAttribute(k, v)
    }
    for (const c of children) if (c !== undefined && c !== null) node.append(c)
    return node
  }

  const fmtInt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 })
  const fmtRate = (n) => (n === undefined || n === null ? "–" : n < 10 && n > 0 ? n.toFixed(1) : fmtInt.format(n))
  const fmtN = (n) => (n === undefined || n === null ? "–" : fmtInt.format(n))
  const fmtMs = (ms) =>
    ms === undefined ? "–" : ms < 0.01 ? "<0.01 ms" : ms < 10 ? `${ms.toFixed(2)} ms` : `${fmtInt.format(ms)} ms`
  const fmtTime = (at) => new Date(at).toLocaleTimeString("en-GB", { hour12: false })
  const fmtAgo = (at) => {
    const s = Math.max(0, Math.round((Date.now() - at) / 1000))
    return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`
  }

  const bar = (queued, capacity, fill) => {
    const cls = fill >= 0.95 ? "bar full" : fill >= 0.6 ? "bar hot" : "bar"
    const inner = el("i")
    inner.style.width = `${Math.round(fill * 100)}%`
    return el("div", { class: cls }, inner, el("span", { text: `${fmtN(queued)} / ${fmtN(capacity)}` }))
  }

  const cell = (text, cls) => el("td", { class: cls, text: String(text) })

  const replaceRows = (table, rows, empty, columns) => {
    const tbody = $(table).tBodies[0]
    if (rows.length === 0) rows = [el("tr", {}, el("td", { class: "empty", colspan: String(columns), text: empty }))]
    tbody.replaceChildren(...rows)
  }

  // ---- auth -------------------------------------------------------------

  const authHeaders = () => (state.token ? { authorization: `Bearer ${state.token}` } : {})

  const renderMode = () => {
    const mode = $("mode")
    const canWrite = !state.readOnly && state.authorized
    mode.textContent = state.readOnly ? "read-only" : canWrite ? "unlocked" : "locked"
    mode.className = canWrite ? "pill pill-rw" : "pill"
    $("token").hidden = state.readOnly || canWrite
    $("unlock").hidden = state.readOnly || canWrite
    for (const b of document.querySelectorAll("button.mut")) {
      b.disabled = !canWrite
      b.title = canWrite ? "" : state.readOnly ? "read-only: no token configured" : "unlock with the token first"
    }
  }

  const checkToken = async () => {
    if (state.readOnly || !state.token) {
      state.authorized = false
      return renderMode()
    }
    const res = await fetch("api/auth", { method: "POST", headers: authHeaders() })
    state.authorized = res.status === 204
    if (!state.authorized) sessionStorage.removeItem(TOKEN_KEY)
    renderMode()
    return state.authorized
  }

  $("auth").addEventListener("submit", async (ev) => {
    ev.preventDefault()
    state.token = $("token").value.trim()
    const ok = await checkToken()
    if (ok) {
      sessionStorage.setItem(TOKEN_KEY, state.token)
      $("token").value = ""
      message("unlocked: retries and purges are allowed")
    } else {
      message("that token was refused (401)", true)
    }
  })

  // ---- charts -----------------------------------------------------------

  const chartSpecs = {
    throughput: {
      target: "chart-throughput",
      series: [
        ["published", "#4fb3ff"],
        ["dispatched", "#9b8cff"],
        ["handled", "#3ecf8e"]
      ],
      pick: (p) => [p.published, p.dispatched, p.succeeded]
    },
    failures: {
      target: "chart-failures",
      series: [
        ["failed", "#ff5d5d"],
        ["timed out", "#f5a623"],
        ["refused", "#56b6c2"],
        ["dropped+evicted", "#c678dd"],
        ["dead-lettered", "#e5c07b"]
      ],
      pick: (p) => [p.failed, p.timedOut, p.refused, p.dropped, p.deadLettered]
    }
  }

  const chartData = (spec) => {
    const xs = state.points.map((p) => p.at / 1000)
    const cols = spec.series.map((_, i) => state.points.map((p) => spec.pick(p)[i]))
    return [xs, ...cols]
  }

  const makeCharts = () => {
    if (typeof uPlot !== "function") return
    for (const [key, spec] of Object.entries(chartSpecs)) {
      const target = $(spec.target)
      const width = Math.max(240, target.clientWidth)
      const axis = { stroke: "#7c8a97", grid: { stroke: "#263039", width: 1 }, ticks: { stroke: "#263039", width: 1 } }
      state.charts[key] = new uPlot(
        {
          width,
          height: 180,
          cursor: { drag: { x: false, y: false } },
          legend: { live: false },
          scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
          axes: [axis, { ...axis, size: 50 }],
          series: [
            {},
            ...spec.series.map(([label, stroke]) => ({ label, stroke, width: 1.5, points: { show: false } }))
          ]
        },
        chartData(spec),
        target
      )
    }
    const resize = () => {
      for (const [key, spec] of Object.entries(chartSpecs)) {
        const chart = state.charts[key]
        if (chart) chart.setSize({ width: Math.max(240, $(spec.target).clientWidth), height: 180 })
      }
    }
    new ResizeObserver(resize).observe(document.body)
  }

  const updateCharts = () => {
    for (const [key, spec] of Object.entries(chartSpecs)) state.charts[key]?.setData(chartData(spec))
  }

  // ---- live panels ------------------------------------------------------

  const renderKpis = (s) => {
    $("k-published").textContent = fmtRate(s.point.published)
    $("k-succeeded").textContent = fmtRate(s.point.succeeded)
    $("k-failed").textContent = fmtRate(s.point.failed + s.point.timedOut + s.point.refused)
    $("k-total").textContent = fmtN(s.totals.published)
    $("k-queued").textContent = fmtN(s.totals.queued)
    $("k-inflight").textContent = fmtN(s.totals.inFlight)
    $("k-dlq").textContent = s.dlq ? fmtN(s.dlq.size) : "–"
  }

  const renderLanes = (s) => {
    const rows = s.lanes.map((l) =>
      el(
        "tr",
        { "data-lane": l.name },
        cell(l.name),
        cell(l.strategy),
        el("td", {}, bar(l.queued, l.capacity, l.fill)),
        cell(fmtRate(l.rates.accepted), "n"),
        cell(fmtRate(l.rates.dispatched), "n"),
        cell(fmtRate(l.rates.dropped), l.rates.dropped > 0 ? "n bad-n" : "n"),
        cell(fmtRate(l.rates.evicted), l.rates.evicted > 0 ? "n bad-n" : "n"),
        cell(fmtN(l.dropped), "n"),
        cell(fmtN(l.evicted), "n")
      )
    )
    replaceRows("lanes", rows, "no lanes", 9)
  }

  const circuitCell = (c) => {
    const state = c ? c.state : "closed"
    const td = el("td", {}, el("span", { class: `state state-${state}`, text: state }))
    if (c) td.title = `since ${fmtTime(c.since)}`
    return td
  }

  const renderSubscriptions = (s) => {
    const rows = s.subscriptions.map((sub) => {
      // The bar is the fullest lane's ring (capacity is per lane); the title lists every lane.
      const m = sub.mailbox
      const mailbox = el(
        "td",
        {
          class: "mailbox",
          title: m.lanes.map((l) => `${l.name}: ${l.queued} / ${m.capacity} ${l.strategy}`).join("\n")
        },
        bar(m.fullest, m.capacity, m.fill)
      )
      mailbox.append(el("span", { class: "muted strategy", text: ` ${m.strategy}` }))
      if (m.blocked > 0) mailbox.append(el("span", { class: "muted", text: ` +${fmtN(m.blocked)} held` }))
      const name = el("td", {}, el("strong", { text: sub.name }))
      name.append(el("div", { class: "muted selector", text: sub.selector }))
      return el(
        "tr",
        { "data-subscription": sub.name },
        name,
        circuitCell(sub.circuit),
        cell(`${sub.busy} / ${sub.concurrency}`, "n"),
        mailbox,
        // Keyed: in order per key. Otherwise one worker keeps publish order; several do not.
        cell(sub.keyed ? "keyed" : sub.concurrency > 1 ? "unordered" : "ordered", "order"),
        cell(fmtN(sub.succeeded), "n"),
        cell(fmtN(sub.failed), sub.failed > 0 ? "n bad-n" : "n"),
        cell(fmtN(sub.timedOut), sub.timedOut > 0 ? "n bad-n" : "n"),
        cell(fmtN(sub.rejected + sub.overflowed), sub.rejected + sub.overflowed > 0 ? "n bad-n" : "n"),
        cell(fmtRate(sub.rates.succeeded), "n"),
        cell(fmtMs(sub.handleTime?.p50Ms), "n"),
        cell(fmtMs(sub.handleTime?.p95Ms), "n")
      )
    })
    replaceRows("subscriptions", rows, "no subscriptions", 12)
  }

  const describe = (e) => {
    const p = e.payload ?? {}
    if (e.type === "system.handler_error") {
      const first = String(p.cause ?? "").split("\n", 1)[0]
      // The bus coalesces a burst of one subscription's failures into one report with a count.
      const times = p.count > 1 ? ` ×${fmtN(p.count)}` : ""
      return `${p.subscription}: ${p.reason}${times} on ${p.eventType} (attempt ${p.attempt}): ${first}`
    }
    if (e.type === "system.bus_stopping")
      return `draining: ${fmtN(p.queued)} queued, ${fmtN(p.inFlight)} in flight, ${fmtN(p.published)} published`
    if (e.type === "system.bus_stopped")
      return `${fmtN(p.succeeded)} handled, ${fmtN(p.failed)} failed, ${fmtN(p.interrupted)} interrupted, ${fmtN(p.abandoned)} abandoned, ${fmtN(p.discarded)} discarded`
    if (e.type === "system.circuit_opened")
      return `${p.subscription} opened (${p.trigger}), probe in ${Math.round((p.retryAfterMillis ?? 0) / 1000)}s`
    if (e.type === "system.circuit_closed") return `${p.subscription} closed`
    return JSON.stringify(p)
  }

  const renderEvents = () => {
    const items = state.events
      .slice()
      .reverse()
      .slice(0, 60)
      .map((e) => {
        const cls =
          e.type === "system.handler_error"
            ? "type err"
            : e.type === "system.circuit_opened"
              ? "type open"
              : e.type === "system.circuit_closed"
                ? "type closed"
                : e.type === "system.bus_stopping" || e.type === "system.bus_stopped"
                  ? "type stop"
                  : "type"
        const detail = describe(e)
        return el(
          "li",
          {},
          el("time", { text: fmtTime(e.at) }),
          el("span", { class: cls, text: e.type.replace(/^system\./, "") }),
          el("span", { class: "detail", title: detail, text: detail })
        )
      })
    if (items.length === 0) items.push(el("li", { class: "empty", text: "no system events yet" }))
    $("events").replaceChildren(...items)
  }

  const renderTransports = (s) => {
    $("transports-card").hidden = s.transports.length === 0
    const blocks = s.transports.map((t) => {
      const rows = Object.entries(t.fields).map(([k, v]) =>
        el("tr", {}, cell(k), cell(typeof v === "number" ? fmtN(v) : String(v), "n"))
      )
      return el(
        "div",
        { class: "transport" },
        el("h3", { text: t.name }),
        el("div", { class: "scroll" }, el("table", {}, el("tbody", {}, ...rows)))
      )
    })
    $("transports").replaceChildren(...blocks)
  }

  const renderSample = (s) => {
    renderKpis(s)
    renderLanes(s)
    renderSubscriptions(s)
    renderTransports(s)
    $("updated").textContent = `updated ${fmtTime(s.at)}`
    if (s.closed) setLive("bus closed", "pill pill-bad")
    const dlqKey = s.dlq ? `${s.dlq.size}/${s.dlq.recorded}/${s.dlq.retried}/${s.dlq.evicted}` : ""
    if (dlqKey !== state.lastDlq) {
      state.lastDlq = dlqKey
      loadDlq()
    }
  }

  const setLive = (text, cls) => {
    $("live").textContent = text
    $("live").className = cls
  }

  // ---- dead letters -----------------------------------------------------

  const filterValue = () => {
    const f = {}
    for (const k of ["type", "reason", "subscription"]) {
      const v = $(`f-${k}`).value
      if (v) f[k] = v
    }
    return f
  }

  const message = (text, error) => {
    $("dlq-message").textContent = text
    $("dlq-message").className = error ? "message error" : "message"
  }

  const fillSelect = (id, values) => {
    const select = $(id)
    const current = select.value
    const options = [
      el("option", { value: "", text: "any" }),
      ...values.map((v) => el("option", { value: v, text: v }))
    ]
    select.replaceChildren(...options)
    select.value = values.includes(current) ? current : ""
  }

  let dlqLoading = false
  let dlqAgain = false
  const loadDlq = async () => {
    if (!state.hasDlq) return
    if (dlqLoading) {
      dlqAgain = true
      return
    }
    dlqLoading = true
    try {
      const query = new URLSearchParams(filterValue()).toString()
      const res = await fetch(`api/dlq?${query}`)
      if (!res.ok) return
      const body = await res.json()
      fillSelect("f-type", body.facets.types)
      fillSelect("f-reason", body.facets.reasons)
      fillSelect("f-subscription", body.facets.subscriptions)
      $("dlq-count").textContent = `${fmtN(body.matching)} matching of ${fmtN(body.total)}`
      const rows = body.entries.map((e) =>
        el(
          "tr",
          { class: "clickable", "data-id": e.id, onclick: () => openEntry(e.id) },
          cell(e.type, "id"),
          cell(e.subscription),
          cell(e.reason),
          cell(e.attempts, "n"),
          el("td", { title: new Date(e.lastFailureAt).toISOString(), text: fmtAgo(e.lastFailureAt) }),
          el("td", { class: "cause", title: e.cause, text: e.cause }),
          el("td", {}, el("button", { type: "button", text: "open" }))
        )
      )
      replaceRows("dlq", rows, "no dead letters", 7)
    } finally {
      dlqLoading = false
      if (dlqAgain) {
        dlqAgain = false
        loadDlq()
      }
    }
  }

  const openEntry = async (id) => {
    const res = await fetch(`api/dlq/entry?${new URLSearchParams({ id })}`)
    if (!res.ok) {
      message(`entry ${id} is gone (retried, purged or evicted)`, true)
      $("entry").hidden = true
      return
    }
    const entry = await res.json()
    state.entryId = id
    $("entry-title").textContent =
      `${entry.envelope.type} → ${entry.subscription} (${entry.reason}, attempts: ${entry.attempts})`
    $("entry-body").textContent = JSON.stringify(
      {
        id: entry.id,
        firstFailureAt: new Date(entry.firstFailureAt).toISOString(),
        lastFailureAt: new Date(entry.lastFailureAt).toISOString(),
        envelope: entry.envelope,
        cause: entry.cause
      },
      null,
      2
    )
    $("entry").hidden = false
  }

  $("entry-close").addEventListener("click", () => {
    $("entry").hidden = true
    state.entryId = undefined
  })

  for (const k of ["type", "reason", "subscription"]) $(`f-${k}`).addEventListener("change", () => loadDlq())

  const confirmStep = (text) =>
    new Promise((resolve) => {
      const dialog = $("confirm")
      $("confirm-text").textContent = text
      dialog.returnValue = ""
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true })
      dialog.showModal()
    })

  const mutate = async (path, body) => {
    const res = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...authHeaders() },
      body: JSON.stringify(body)
    })
    const answer = res.status === 204 ? {} : await res.json().catch(() => ({}))
    if (res.status === 401) {
      state.authorized = false
      renderMode()
    }
    return { status: res.status, body: answer }
  }

  const describeFilter = (f) => {
    const parts = Object.entries(f).map(([k, v]) => `${k} = ${v}`)
    return parts.length === 0 ? "all dead letters" : `dead letters where ${parts.join(", ")}`
  }

  $("entry-retry").addEventListener("click", async () => {
    const id = state.entryId
    if (!id || !(await confirmStep(`Re-deliver ${id} to its subscription?`))) return
    const { status, body } = await mutate("api/dlq/retry", { id })
    if (status === 200) {
      message(`${id}: delivered, removed from the queue`)
      $("entry").hidden = true
    } else message(`${id}: ${body.status ?? body.error ?? status} ${body.error ?? body.message ?? ""}`, true)
    loadDlq()
  })

  $("retry-all").addEventListener("click", async () => {
    const f = filterValue()
    if (!(await confirmStep(`Re-deliver ${describeFilter(f)}?`))) return
    const { status, body } = await mutate("api/dlq/retry-all", f)
    if (status === 200)
      message(
        `retried ${body.total}: ${body.succeeded} delivered, ${body.failed} failed again, ${body.errors} not re-delivered`
      )
    else message(`retry refused: ${body.message ?? status}`, true)
    loadDlq()
  })

  $("purge").addEventListener("click", async () => {
    const f = filterValue()
    if (!(await confirmStep(`Permanently remove ${describeFilter(f)}?`))) return
    const { status, body } = await mutate("api/dlq/purge", f)
    if (status === 200) message(`purged ${body.purged}`)
    else message(`purge refused: ${body.message ?? status}`, true)
    loadDlq()
  })

  // ---- wiring -----------------------------------------------------------

  const apply = (update) => {
    state.points.push(update.sample.point)
    if (state.points.length > MAX_POINTS) state.points.splice(0, state.points.length - MAX_POINTS)
    state.events.push(...update.events)
    if (state.events.length > 200) state.events.splice(0, state.events.length - 200)
    renderSample(update.sample)
    if (update.events.length > 0) renderEvents()
    updateCharts()
  }

  const connect = () => {
    const source = new EventSource("api/stream")
    source.addEventListener("open", () => setLive("live", "pill pill-live"))
    source.addEventListener("update", (ev) => apply(JSON.parse(ev.data)))
    source.addEventListener("error", () => setLive("reconnecting", "pill pill-wait"))
  }

  const start = async () => {
    const res = await fetch("api/snapshot")
    const snap = await res.json()
    state.readOnly = snap.readOnly
    state.hasDlq = snap.dlq
    $("dlq-card").hidden = !snap.dlq
    state.points = snap.history.slice(-MAX_POINTS)
    state.events = snap.events
    makeCharts()
    if (snap.latest) renderSample(snap.latest)
    renderEvents()
    await checkToken()
    connect()
  }

  start()
})()
