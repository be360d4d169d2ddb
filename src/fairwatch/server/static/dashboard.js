// fairwatch dashboard: vanilla JavaScript, charts drawn as SVG, data from /dashboard/api (same origin).
// Data is only ever inserted as text (textContent / attributes), never parsed as HTML.
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
  const LABELS = {
    selection_rate: "Selection rate",
    true_positive_rate: "True positive rate",
    false_positive_rate: "False positive rate",
    precision: "Precision",
    accuracy: "Accuracy",
    error_rate: "Error rate",
    demographic_parity: "Demographic parity",
    equalized_odds: "Equalized odds",
    equal_opportunity: "Equal opportunity",
    predictive_parity: "Predictive parity",
  };
  // Disparity trends drawn as charts: [disparity name, statistic, reference line or null].
  const DISPARITY_CHARTS = [
    ["demographic_parity", "ratio", { y: 0.8, label: "four-fifths rule" }],
    ["equalized_odds", "difference", null],
  ];
  // Named disparities and the per-group metric they compare (a rule may name either).
  const ALIASES = { demographic_parity: "selection_rate", equal_opportunity: "true_positive_rate", predictive_parity: "precision" };
  const RULE_COLUMNS = ["name", "kind", "metric", "disparity", "feature", "statistic", "op", "threshold", "significance", "window", "sensitive", "enabled"];
  const ALERT_COLUMNS = ["rule", "rule_name", "key", "group", "groups", "state", "started", "resolved", "last_window_end", "windows_firing", "value", "evidence", "acknowledged", "silenced"];
  const HIDDEN_COLUMNS = ["id", "rule_id", "model", "created", "updated", "deliveries", "notify", "acknowledged_by"];

  const state = { models: [], attributes: [], model: null, metrics: null, estimates: null, rules: null, alerts: null, loading: 0 };
  const $ = (id) => document.getElementById(id);

  // -- DOM helpers -------------------------------------------------------------------------------
  function build(node, attrs, children) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const el = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
  const svg = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

  // -- formatting --------------------------------------------------------------------------------
  const label = (name) => LABELS[name] || name.replace(/_/g, " ");
  const isNum = (x) => typeof x === "number" && Number.isFinite(x);
  const fmt = (x, digits = 3) => (isNum(x) ? x.toFixed(digits) : "—");
  const pct = (x) => (isNum(x) ? `${(100 * x).toFixed(0)} %` : "—");
  const pvalue = (x) => (isNum(x) ? (x < 0.001 ? "<0.001" : x.toPrecision(2)) : "—");
  const interval = (lo, hi) => (isNum(lo) && isNum(hi) ? ` [${fmt(lo)}, ${fmt(hi)}]` : "");
  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }
  function groupName(group) {
    if (!group || typeof group !== "object") return "all";
    return Object.entries(group).map(([k, v]) => `${k}=${v === null ? "(missing)" : v}`).join(", ");
  }
  function cellText(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : fmt(value);
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (Array.isArray(value)) return value.map(cellText).join("; ");
    if (typeof value === "object" && isNum(value.value)) {
      const metric = value.metric ? `${value.metric} ` : "";
      return `${metric}${fmt(value.value)}${interval(value.lo, value.hi)}${value.reason ? ` — ${value.reason}` : ""}`;
    }
    if (typeof value === "object") {
      return Object.entries(value).map(([k, v]) => `${k}=${v !== null && typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
    }
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) return when(value);
    return String(value);
  }

  // -- the API -----------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, body) {
    const init = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let payload = null;
    try {
      payload = await response.json();
    } catch (_) {
      payload = null;
    }
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      if (payload && typeof payload.message === "string") message = payload.message;
      else if (payload && typeof payload.detail === "string") message = payload.detail;
      throw new ApiError(response.status, message);
    }
    return payload;
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") search.set(k, v);
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  function setStatus(message, isError) {
    const status = $("status");
    status.textContent = message || "";
    status.className = isError ? "status error" : "status";
  }

  function failed(error) {
    if (error instanceof ApiError && error.status === 401) {
      showLogin(error.message);
      return;
    }
    setStatus(error.message || String(error), true);
  }

  // -- screens -----------------------------------------------------------------------------------
  function show(section) {
    for (const id of ["login", "models", "model"]) $(id).hidden = id !== section;
  }

  function showLogin(message) {
    state.models = [];
    $("who").textContent = "";
    $("logout").hidden = true;
    setStatus("");
    $("login-error").textContent = message || "";
    show("login");
    $("api-key").focus();
  }

  async function start() {
    try {
      const session = await api("dashboard/api/session");
      if (!session.authenticated) {
        showLogin("");
        return;
      }
      signedIn(session);
      await route();
    } catch (error) {
      failed(error);
    }
  }

  function signedIn(session) {
    $("who").textContent = session.auth_disabled ? "authentication disabled" : `scopes: ${session.scopes.join(", ")}`;
    $("logout").hidden = session.auth_disabled;
  }

  async function login(event) {
    event.preventDefault();
    const input = $("api-key");
    $("login-error").textContent = "";
    try {
      const session = await api("dashboard/api/login", { api_key: input.value });
      input.value = "";
      signedIn(session);
    } catch (error) {
      $("login-error").textContent = error.message;
      return;
    }
    await route();
  }

  async function logout() {
    try {
      await api("dashboard/api/logout", {});
    } catch (_) {
      // the session is gone either way
    }
    showLogin("You are logged out.");
  }

  async function loadModels() {
    const payload = await api("dashboard/api/models");
    state.models = payload.models;
    state.attributes = payload.sensitive;
  }

  // #/models/<name> shows a model; anything else the list of models (fetched afresh).
  async function route() {
    try {
      const match = /^#\/models\/(.+)$/.exec(location.hash);
      if (!match || !state.models.length) await loadModels();
      if (match) showModel(decodeURIComponent(match[1]));
      else showModels();
    } catch (error) {
      failed(error);
    }
  }

  function showModels() {
    setStatus("");
    const body = $("models-table").tBodies[0];
    body.replaceChildren(
      ...state.models.map((m) =>
        el(
          "tr",
          {},
          el("td", {}, el("a", { href: `#/models/${encodeURIComponent(m.model)}`, text: m.model })),
          el("td", { text: m.versions.join(", ") || "—" }),
          el("td", { class: "num", text: m.predictions.toLocaleString("en") }),
          el("td", { class: "num", text: pct(m.label_coverage) }),
          el("td", { text: when(m.first) }),
          el("td", { text: when(m.last) }),
        ),
      ),
    );
    $("models-empty").hidden = state.models.length > 0;
    show("models");
  }

  function showModel(name) {
    const info = state.models.find((m) => m.model === name);
    if (!info) {
      showModels();
      setStatus(`No model named ${name}.`, true);
      return;
    }
    state.model = info;
    $("model-name").textContent = name;
    const box = $("sensitive");
    box.replaceChildren(box.firstElementChild || el("legend", { text: "sensitive attributes" }));
    state.attributes.forEach((attribute, i) => {
      box.append(el("label", {}, el("input", { type: "checkbox", value: attribute, checked: i === 0 }), ` ${attribute}`));
    });
    const version = $("version");
    version.replaceChildren(el("option", { value: "", text: "all" }), ...info.versions.map((v) => el("option", { value: v, text: v })));
    show("model");
    load();
  }

  // -- loading a model ---------------------------------------------------------------------------
  function controls() {
    const sensitive = [...$("sensitive").querySelectorAll("input:checked")].map((i) => i.value).join(",");
    return { sensitive, window: $("window").value, model_version: $("version").value };
  }

  async function load() {
    const model = encodeURIComponent(state.model.model);
    const chosen = controls();
    const ticket = ++state.loading;
    setStatus("Loading…");
    const [metrics, drift, alerts, estimates] = await Promise.allSettled([
      api(`dashboard/api/models/${model}/metrics${query(chosen)}`),
      api(`dashboard/api/models/${model}/drift${query({ sensitive: chosen.sensitive, model_version: chosen.model_version })}`),
      api(`dashboard/api/models/${model}/alerts`),
      api(`dashboard/api/models/${model}/estimates${query(chosen)}`),
    ]);
    if (ticket !== state.loading) return; // a newer request superseded this one
    // estimates that fail are reported beside the charts; the realised values are still shown
    const problem = [metrics, drift, alerts].find((r) => r.status === "rejected") || (estimates.status === "rejected" && estimates.reason.status === 401 ? estimates : null);
    if (problem && problem.reason instanceof ApiError && problem.reason.status === 401) {
      failed(problem.reason);
      return;
    }
    setStatus(problem ? problem.reason.message : "", Boolean(problem));
    state.rules = alerts.status === "fulfilled" ? alerts.value.rules : null;
    state.alerts = alerts.status === "fulfilled" ? alerts.value.alerts : null;
    try {
      state.estimates = estimates.status === "fulfilled" ? estimates.value : { refused: estimates.reason.message, windows: [] };
      renderEstimateNote(state.estimates);
      if (metrics.status === "fulfilled") renderMetrics(mergeEstimates(metrics.value, state.estimates));
      else clearMetrics();
      if (drift.status === "fulfilled") renderDrift(drift.value);
      else $("drift").tBodies[0].replaceChildren();
      renderAlerts();
    } catch (error) {
      setStatus(`The page could not show this model: ${error.message}`, true);
    }
  }

  function clearMetrics() {
    for (const id of ["charts", "disparity-charts", "window-pick", "window-note"]) $(id).replaceChildren();
    $("groups").tHead.replaceChildren();
    $("groups").tBodies[0].replaceChildren();
    $("disparities").tBodies[0].replaceChildren();
  }

  // -- estimates before labels arrive ------------------------------------------------------------
  // Where a window's labels have not all arrived, its label-dependent metrics and their disparities
  // are replaced by the estimates (realised counts of the labelled rows plus expected counts of the
  // others), marked estimated. Fully labelled windows keep their realised values.
  function mergeEstimates(payload, estimates) {
    const byStart = new Map((estimates && estimates.windows ? estimates.windows : []).map((w) => [Date.parse(w.start), w]));
    const windows = payload.windows.map((window) => {
      const estimate = byStart.get(Date.parse(window.start));
      if (!estimate || !estimate.estimated) return window;
      const groups = window.groups.map((group) => {
        const found = estimate.groups.find((g) => groupName(g.group) === groupName(group.group));
        if (!found || !found.estimated || found.estimate_refused) return { ...group, label_coverage: found ? found.label_coverage : undefined, estimate_refused: found ? found.estimate_refused : null };
        const metrics = { ...group.metrics };
        const replaced = [];
        for (const [name, value] of Object.entries(found.metrics)) {
          if (!(name in metrics) || !value || !isNum(value.value)) continue;
          metrics[name] = { value: value.value, lo: value.lo, hi: value.hi, estimated: true };
          replaced.push(name);
        }
        return { ...group, metrics, withheld: group.withheld.filter((m) => !replaced.includes(m)), label_coverage: found.label_coverage, estimate_refused: null };
      });
      const disparities = {};
      for (const [name, d] of Object.entries(window.disparities)) {
        const estimated = estimate.disparities[name];
        if (estimated && estimated.estimated && isNum(estimated.difference)) disparities[name] = estimated;
        // not estimated (a group too small or refused): the labelled rows alone, said so in the table
        else if (window.n_labelled < window.n && isNum(d.difference) && (d.metrics || []).some((m) => m !== "selection_rate")) disparities[name] = { ...d, partial: true };
        else disparities[name] = d;
      }
      return { ...window, groups, disparities, estimated: true };
    });
    return { ...payload, windows };
  }

  function renderEstimateNote(estimates) {
    const note = $("estimate-note");
    note.className = "estimate-note";
    if (!estimates || estimates.refused) {
      note.classList.add("refused");
      note.replaceChildren(el("strong", { text: "No estimates: " }), (estimates && estimates.refused) || "unknown reason", ". Label-dependent metrics are shown only where labels have arrived.");
      return;
    }
    const reference = estimates.reference;
    const how =
      reference.chosen === "auto"
        ? `chosen automatically: the most recent ${reference.windows} window${reference.windows === 1 ? "" : "s"} with label coverage of at least ${pct(reference.min_coverage)}`
        : "chosen by the reference_start and reference_end parameters";
    const calibrated = reference.groups
      .filter((g) => !g.estimate_refused)
      .map((g) => `${groupName(g.group)}: ${g.method}, held-out ECE ${fmt(g.ece)}`)
      .join("; ");
    const children = [
      el("span", { class: "est-badge", text: "est." }),
      ` Windows whose labels have not all arrived show estimates: realised counts of the labelled predictions plus expected counts of the others, from scores calibrated per group on the reference period ${when(reference.start)} – ${when(reference.end)} (${how}). `,
      calibrated ? `Calibration: ${calibrated}. ` : "",
      "Once every label of a window is in, its realised values replace the estimates.",
    ];
    for (const refusal of estimates.refusals || []) children.push(el("span", { class: "refusal" }, el("strong", { text: `No estimates for ${groupName(refusal.group)}: ` }), refusal.reason));
    note.replaceChildren(...children);
  }

  // -- charts ------------------------------------------------------------------------------------
  function runs(points, keep) {
    const out = [];
    let current = [];
    for (const p of points) {
      if (keep(p)) current.push(p);
      else if (current.length) {
        out.push(current);
        current = [];
      }
    }
    if (current.length) out.push(current);
    return out;
  }

  function ticks(lo, hi, count) {
    const step = (hi - lo) / count;
    return Array.from({ length: count + 1 }, (_, i) => lo + i * step);
  }

  function domain(series, thresholds) {
    const values = [0];
    for (const s of series) for (const p of s.points) for (const v of [p.y, p.lo, p.hi]) if (isNum(v)) values.push(v);
    for (const t of thresholds) values.push(t.y);
    let lo = Math.floor(Math.min(...values) * 10) / 10;
    let hi = Math.ceil(Math.max(...values) * 10) / 10;
    if (hi - lo < 0.1) hi = lo + 0.1;
    return [lo, hi];
  }

  function lineChart(spec) {
    const W = 460, H = 210, left = 40, right = 10, top = 10, bottom = 26;
    const thresholds = spec.thresholds || [];
    const xs = spec.series.flatMap((s) => s.points.map((p) => p.x));
    if (!xs.length) return el("figure", { class: "chart-box" }, el("figcaption", { text: spec.title }), el("p", { class: "muted", text: "No data." }));
    let x0 = Math.min(...xs), x1 = Math.max(...xs);
    if (!(x1 > x0)) {
      x0 -= 3600e3;
      x1 += 3600e3;
    }
    const [y0, y1] = spec.domain || domain(spec.series, thresholds);
    const sx = (x) => left + ((x - x0) / (x1 - x0)) * (W - left - right);
    const sy = (y) => H - bottom - ((Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * (H - top - bottom);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": spec.title });
    for (const t of ticks(y0, y1, 4)) {
      root.append(
        svg("line", { class: "grid", x1: left, x2: W - right, y1: sy(t), y2: sy(t) }),
        svg("text", { class: "tick", x: left - 5, y: sy(t) + 3, "text-anchor": "end", text: t.toFixed(2) }),
      );
    }
    const long = x1 - x0 > 2 * 86400e3;
    ticks(x0, x1, 4).forEach((t, i) => {
      const stamp = new Date(t).toISOString();
      const text = long ? stamp.slice(5, 10) : stamp.slice(5, 10) + " " + stamp.slice(11, 16);
      const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
      root.append(svg("text", { class: "tick", x: sx(t), y: H - 8, "text-anchor": anchor, text }));
    });
    for (const t of thresholds) {
      root.append(
        svg("line", { class: "threshold", x1: left, x2: W - right, y1: sy(t.y), y2: sy(t.y) }),
        svg("text", { class: "threshold-label", x: W - right - 2, y: sy(t.y) - 3, "text-anchor": "end", text: `${t.label} (${t.y})` }),
      );
    }
    for (const s of spec.series) {
      const group = svg("g", { class: "series" });
      for (const run of runs(s.points, (p) => isNum(p.y) && isNum(p.lo) && isNum(p.hi))) {
        const pad = run.length === 1 ? 3 : 0;
        const upper = run.map((p, i) => `${i ? "L" : "M"}${(sx(p.x) - pad).toFixed(1)},${sy(p.hi).toFixed(1)}`);
        if (pad) upper.push(`L${(sx(run[0].x) + pad).toFixed(1)},${sy(run[0].hi).toFixed(1)}`);
        const lower = run
          .slice()
          .reverse()
          .map((p) => `L${(sx(p.x) + pad).toFixed(1)},${sy(p.lo).toFixed(1)}`);
        if (pad) lower.push(`L${(sx(run[0].x) - pad).toFixed(1)},${sy(run[0].lo).toFixed(1)}`);
        group.append(svg("path", { class: "band", d: upper.concat(lower).join("") + "Z", fill: s.color }));
      }
      const solid = [], dashed = [];
      for (const run of runs(s.points, (p) => isNum(p.y))) {
        for (let i = 1; i < run.length; i++) {
          const segment = `M${sx(run[i - 1].x).toFixed(1)},${sy(run[i - 1].y).toFixed(1)}L${sx(run[i].x).toFixed(1)},${sy(run[i].y).toFixed(1)}`;
          (run[i - 1].estimated || run[i].estimated ? dashed : solid).push(segment);
        }
      }
      if (solid.length) group.append(svg("path", { class: "line", d: solid.join(""), stroke: s.color }));
      if (dashed.length) group.append(svg("path", { class: "line estimated", d: dashed.join(""), stroke: s.color }));
      for (const p of s.points) {
        if (!isNum(p.y)) continue;
        const tip = `${s.name}: ${fmt(p.y)}${interval(p.lo, p.hi)}${p.estimated ? " (estimated)" : ""} · ${when(p.start)}`;
        group.append(svg("circle", { class: p.estimated ? "point estimated" : "point", cx: sx(p.x), cy: sy(p.y), r: 2.5, fill: s.color }, svg("title", { text: tip })));
      }
      root.append(group);
    }
    const hasEstimates = spec.series.some((s) => s.points.some((p) => p.estimated && isNum(p.y)));
    const legend = el(
      "ul",
      { class: "legend" },
      spec.series.map((s) => el("li", {}, svg("svg", { class: "swatch", viewBox: "0 0 10 10", "aria-hidden": "true" }, svg("rect", { width: 10, height: 10, fill: s.color })), ` ${s.name}`)),
      hasEstimates
        ? el("li", { class: "legend-estimated" }, svg("svg", { class: "swatch-line", viewBox: "0 0 20 10", "aria-hidden": "true" }, svg("line", { class: "estimated", x1: 0, x2: 20, y1: 5, y2: 5 })), " estimated (labels missing)")
        : null,
    );
    return el("figure", { class: "chart-box" }, el("figcaption", { text: spec.title }), root, legend);
  }

  function pointOf(window, value) {
    const start = Date.parse(window.start), end = Date.parse(window.end);
    return {
      x: (start + end) / 2,
      start: window.start,
      y: value ? value.value : null,
      lo: value ? value.lo : null,
      hi: value ? value.hi : null,
      estimated: Boolean(value && value.estimated),
    };
  }

  function groupSeries(windows) {
    const names = [];
    for (const w of windows) for (const g of w.groups) if (!names.includes(groupName(g.group))) names.push(groupName(g.group));
    return names.map((name, i) => ({ name, color: PALETTE[i % PALETTE.length] }));
  }

  function renderMetrics(payload) {
    state.metrics = payload;
    const windows = payload.windows;
    const groups = groupSeries(windows);
    const find = (w, name) => w.groups.find((g) => groupName(g.group) === name);
    const charts = [];
    const coverage = [{ name: "all", color: "#444", points: windows.map((w) => pointOf(w, { value: w.label_coverage })) }].concat(
      groups.map((g) => ({
        name: g.name,
        color: g.color,
        points: windows.map((w) => {
          const found = find(w, g.name);
          return pointOf(w, found && found.n ? { value: found.n_labelled / found.n } : null);
        }),
      })),
    );
    charts.push(lineChart({ title: "Label coverage", series: coverage, domain: [0, 1] }));
    for (const metric of payload.metrics) {
      const series = groups.map((g) => ({
        name: g.name,
        color: g.color,
        points: windows.map((w) => {
          const found = find(w, g.name);
          return pointOf(w, found ? found.metrics[metric] : null);
        }),
      }));
      charts.push(lineChart({ title: label(metric), series, domain: [0, 1] }));
    }
    $("charts").replaceChildren(...charts);

    const disparityCharts = [];
    for (const [name, statistic, reference] of DISPARITY_CHARTS) {
      if (!windows.some((w) => w.disparities[name])) continue;
      const points = windows.map((w) => {
        const d = w.disparities[name];
        return pointOf(w, d ? { value: d[statistic], lo: d[`${statistic}_lo`], hi: d[`${statistic}_hi`], estimated: d.estimated } : null);
      });
      const thresholds = matchingRules(name, statistic).map((r) => ({ y: Number(r.threshold), label: r.name || "rule" }));
      if (reference) thresholds.push(reference);
      disparityCharts.push(lineChart({ title: `${label(name)} ${statistic}`, series: [{ name: `${statistic} between groups`, color: "#1f4e79", points }], thresholds }));
    }
    $("disparity-charts").replaceChildren(...disparityCharts);

    const pick = $("window-pick");
    const filled = windows.map((w, i) => [w, i]).filter(([w]) => w.n > 0);
    pick.replaceChildren(...filled.map(([w, i]) => el("option", { value: i, text: `${when(w.start)} – ${when(w.end)} (n=${w.n}, ${pct(w.label_coverage)} labelled${w.estimated ? ", est." : ""})` })));
    if (filled.length) pick.value = String(filled[filled.length - 1][1]);
    const note = [`${windows.length} windows of ${payload.window}`, `${Math.round(payload.ci * 100)} % intervals`, "times in UTC"];
    if (payload.truncated) note.push("showing the latest windows only");
    $("model-note").textContent = note.join(" · ");
    renderWindow();
  }

  // -- tables ------------------------------------------------------------------------------------
  function metricCell(value, withheld, labelled) {
    if (withheld) return el("td", { class: "num muted", title: "too few labelled rows in this group", text: "withheld" });
    if (!value || !isNum(value.value)) return el("td", { class: "num muted", text: labelled ? "—" : "no labels yet" });
    const text = `${fmt(value.value)}${interval(value.lo, value.hi)}`;
    if (value.estimated) return el("td", { class: "num estimated", title: "estimated before labels arrived" }, `≈${text} `, el("span", { class: "est-badge", text: "est." }));
    return el("td", { class: "num", text });
  }

  function renderWindow() {
    const payload = state.metrics;
    const index = Number($("window-pick").value);
    const window = payload && payload.windows[index];
    const head = $("groups").tHead, body = $("groups").tBodies[0];
    if (!window) {
      head.replaceChildren();
      body.replaceChildren();
      $("window-note").textContent = "";
      $("disparities").tBodies[0].replaceChildren();
      return;
    }
    head.replaceChildren(
      el("tr", {}, el("th", { text: "group" }), el("th", { class: "num", text: "n" }), el("th", { class: "num", text: "labelled (coverage)" }), payload.metrics.map((m) => el("th", { class: "num", text: label(m) }))),
    );
    body.replaceChildren(
      ...window.groups.map((g) =>
        el(
          "tr",
          {},
          el("td", { text: groupName(g.group) }),
          el("td", { class: "num", text: g.n }),
          el("td", { class: "num", text: `${g.n_labelled} (${pct(g.n ? g.n_labelled / g.n : null)})` }),
          payload.metrics.map((m) => metricCell(g.metrics[m], g.withheld.includes(m), g.n_labelled > 0)),
        ),
      ),
    );
    const refused = window.groups.filter((g) => g.estimate_refused && g.n_labelled < g.n);
    const windowNote = [`Label coverage of this window: ${pct(window.label_coverage)}.`];
    if (window.estimated) windowNote.push("Values marked est. are estimates: some labels have not arrived yet.");
    const smallest = state.estimates && state.estimates.min_group_size;
    if (window.estimated && isNum(smallest) && window.groups.some((g) => g.n < smallest)) {
      windowNote.push(`Groups with fewer than ${smallest} predictions in the window are left out of its estimated disparities.`);
    }
    for (const g of refused) windowNote.push(`No estimates for ${groupName(g.group)}: ${g.estimate_refused}`);
    $("window-note").textContent = windowNote.join(" ");
    const rows = Object.entries(window.disparities).map(([name, d]) => {
      const estimated = d.estimated ? el("span", { class: "est-badge", text: "est." }) : d.partial ? el("span", { class: "muted", title: "not estimated: computed on the labelled predictions only", text: "(labelled rows only)" }) : null;
      return el(
        "tr",
        { class: d.estimated ? "estimated" : null },
        el("td", {}, label(name), " ", estimated),
        el("td", { class: "num", text: `${fmt(d.difference)}${interval(d.difference_lo, d.difference_hi)}` }),
        el("td", { class: "num", text: `${fmt(d.ratio)}${interval(d.ratio_lo, d.ratio_hi)}` }),
        el("td", { text: d.max_group ? `${groupName(d.max_group)} (${fmt(d.max_value)})` : "—" }),
        el("td", { text: d.min_group ? `${groupName(d.min_group)} (${fmt(d.min_value)})` : "—" }),
        el("td", {}, ruleVerdicts(name, d)),
      );
    });
    $("disparities").tBodies[0].replaceChildren(...rows);
  }

  // -- rules and alerts --------------------------------------------------------------------------
  function matchingRules(name, statistic) {
    const same = (metric) => metric === name || metric === ALIASES[name] || ALIASES[metric] === name;
    return (state.rules || []).filter(
      (r) => r && same(r.metric) && (statistic === undefined || (r.disparity || "difference") === statistic) && isNum(Number(r.threshold)),
    );
  }

  function ruleVerdicts(name, disparity) {
    const rules = matchingRules(name);
    if (state.rules === null) return el("span", { class: "muted", text: "no alert rules configured" });
    if (!rules.length) return el("span", { class: "muted", text: "no rule" });
    return rules.map((r) => {
      const statistic = r.disparity || "difference";
      if (statistic === "value") return el("div", { class: "rule" }, `${r.name || "rule"}: per-group value ${r.op || ">"} ${r.threshold} — see the groups table`);
      const value = disparity[statistic];
      const threshold = Number(r.threshold);
      const op = r.op || ">";
      const breached = isNum(value) ? (op.startsWith("<") ? value < threshold : value > threshold) : null;
      const verdict = breached === null ? "n/a" : breached ? "beyond threshold" : "ok";
      return el("div", { class: `rule ${breached ? "breached" : ""}` }, `${r.name || "rule"}: alert when ${statistic} ${op} ${threshold} — ${verdict}`);
    });
  }

  function recordTable(records, preferred) {
    const keys = [];
    const filled = (v) => v !== null && v !== undefined && v !== "" && !(Array.isArray(v) && !v.length);
    for (const r of records) for (const k of Object.keys(r)) if (!keys.includes(k) && !HIDDEN_COLUMNS.includes(k) && records.some((x) => filled(x[k]))) keys.push(k);
    const columns = preferred.filter((k) => keys.includes(k)).concat(keys.filter((k) => !preferred.includes(k)));
    return el(
      "table",
      { class: "data records" },
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { text: c.replace(/_/g, " ") })))),
      el("tbody", {}, records.map((r) => el("tr", {}, columns.map((c) => el("td", { class: c === "state" ? `state state-${String(r[c])}` : null, text: cellText(r[c]) }))))),
    );
  }

  // An alert names its groups in its evidence; show them instead of the internal comparison key.
  function alertRow(alert) {
    const groups = alert.evidence && Array.isArray(alert.evidence.groups) ? alert.evidence.groups : null;
    if (!groups || alert.groups !== undefined) return alert;
    const { key: _key, ...rest } = alert;
    return { ...rest, groups: groups.map(groupName).join(" vs ") };
  }

  function renderAlerts() {
    const rules = $("rules"), alerts = $("alerts");
    if (state.rules === null && state.alerts === null) {
      rules.replaceChildren(el("p", { class: "muted", text: "No alert rules configured." }));
      alerts.replaceChildren();
      return;
    }
    rules.replaceChildren(
      state.rules && state.rules.length ? el("div", {}, el("h3", { text: "Rules" }), recordTable(state.rules, RULE_COLUMNS)) : el("p", { class: "muted", text: "No alert rules configured for this model." }),
    );
    alerts.replaceChildren(
      state.alerts && state.alerts.length ? el("div", {}, el("h3", { text: "Alerts" }), recordTable(state.alerts.map(alertRow), ALERT_COLUMNS)) : el("p", { class: "muted", text: "No alerts so far." }),
    );
  }

  function renderDrift(payload) {
    $("drift-periods").textContent = `Reference ${when(payload.reference.start)} – ${when(payload.reference.end)} against current ${when(payload.current.start)} – ${when(payload.current.end)}. PSI above 0.2 is marked.`;
    const rows = payload.features.map((f) =>
      el(
        "tr",
        {},
        el("td", { text: f.feature }),
        el("td", { text: groupName(f.group) }),
        el("td", { text: f.kind }),
        el("td", { class: "num", text: f.n_reference }),
        el("td", { class: "num", text: f.n_current }),
        el("td", { class: isNum(f.psi) && f.psi > 0.2 ? "num warn" : isNum(f.psi) && f.psi > 0.1 ? "num mild" : "num", text: fmt(f.psi) }),
        el("td", { class: "num", text: fmt(f.js) }),
        el("td", { class: "num", text: isNum(f.ks) ? `${fmt(f.ks)} (${pvalue(f.ks_pvalue)})` : "—" }),
        el("td", { class: "num", text: isNum(f.chi2) ? `${fmt(f.chi2, 1)} (${pvalue(f.chi2_pvalue)})` : "—" }),
      ),
    );
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 9, class: "muted", text: "No features sent with the predictions." })));
    $("drift").tBodies[0].replaceChildren(...rows);
  }

  // -- wiring ------------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("controls").addEventListener("change", () => load());
    $("window-pick").addEventListener("change", renderWindow);
    window.addEventListener("hashchange", () => {
      if (!$("login").hidden) return;
      route();
    });
    start();
  });
})();
