// The dashboard's page: polls /api/status and redraws. Job data (names, errors, output)
// is only ever set as text, never as markup.
"use strict";

const POLL_MS = 1000;       // while the batch runs
const FINAL_POLL_MS = 5000; // after it ended: the final state, which no longer changes
const PALETTE = ["#4e79a7", "#59a14f", "#b07aa1", "#76b7b2", "#9c755f", "#1f3b73",
                 "#8cd17d", "#a0cbe8", "#d4a6c8", "#79706e"];   // as the HTML report
const FAILED = "#f28e2b", CRASHED = "#d62728";
const SVG_NS = "http://www.w3.org/2000/svg";

const rates = [];   // [elapsed, finished] of recent polls: jobs/s over the last ~10 s

function $(id) { return document.getElementById(id); }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}

function pct(x) { return (100 * x).toFixed(1) + "%"; }

function num(x, digits) {
  if (!isFinite(x) || x === 0) return "-";
  if (digits !== undefined) return x.toFixed(digits);
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(3);
}

function secs(s) {
  if (!isFinite(s) || s < 0) return "-";
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " min " + Math.round(s - 60 * m) + " s";
  return Math.floor(m / 60) + " h " + (m % 60) + " min";
}

function bytes(n) {
  if (!(n > 0)) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
}

function setBar(bar, parts, total) {
  const spans = bar.children;
  for (let i = 0; i < spans.length; ++i) {
    spans[i].style.width = total > 0 ? (100 * parts[i] / total) + "%" : "0";
  }
}

function bar(parts, total, classes) {
  const b = el("div", null, "bar");
  classes.forEach(c => b.appendChild(el("span", null, c)));
  setBar(b, parts, total);
  return b;
}

function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function drawSummary(s) {
  const j = s.jobs;
  const state = $("state");
  state.textContent = s.final ? "finished" : "running";
  state.className = "state " + (s.final ? "finished" : "running");
  rates.push([s.elapsed, j.finished]);
  while (rates.length > 2 && rates[rates.length - 1][0] - rates[0][0] > 10) rates.shift();
  let rate = 0;
  if (rates.length > 1) {
    const [t0, f0] = rates[0], [t1, f1] = rates[rates.length - 1];
    if (t1 > t0) rate = (f1 - f0) / (t1 - t0);
  }
  if (rate === 0 && s.elapsed > 0) rate = j.finished / s.elapsed;   // the page just opened
  if (s.final && s.batch.wall_seconds > 0) rate = s.batch.jobs / s.batch.wall_seconds;
  const left = j.submitted - j.finished;
  const working = s.nodes.filter(n => n.state === "working").length;
  const paused = s.nodes.filter(n => n.state === "paused").length;
  const parts = [j.finished + " of " + j.submitted + " jobs",
                 j.submitted > 0 ? pct(j.finished / j.submitted) : "",
                 num(rate) + " jobs/s",
                 !s.final && rate > 0 && left > 0 ? "ETA " + secs(left / rate) : "",
                 "elapsed " + secs(s.elapsed),
                 working + " of " + s.nodes.length + " nodes working" +
                   (paused > 0 ? " (" + paused + " paused)" : ""),
                 j.failed + " failed", j.retried + " retried"];
  $("summary").textContent = parts.filter(p => p).join(" · ");
  setBar($("progress"), [j.done, j.failed, j.cancelled], j.submitted);
  $("progress-text").textContent = j.submitted === 0 ? "no jobs yet" :
    j.done + " done, " + j.failed + " failed, " + j.cancelled + " cancelled, " +
    left + " to go" + (j.held > 0 ? " (" + j.held + " waiting for their inputs)" : "");
  $("progress").dataset.done = j.done;
  $("progress").dataset.finished = j.finished;
  $("progress").dataset.submitted = j.submitted;
}

function drawGroups(groups) {
  const table = $("groups");
  table.hidden = groups.length === 0;
  fillRows(table.tBodies[0], groups.map(g => {
    const tr = el("tr");
    tr.dataset.group = g.name;
    tr.dataset.finished = g.finished;
    tr.append(el("td", g.name), el("td"), el("td", g.done), el("td", g.failed),
              el("td", g.cancelled), el("td", g.retried), el("td", g.held),
              el("td", g.submitted));
    tr.children[1].appendChild(bar([g.done, g.failed, g.cancelled], g.submitted,
                                   ["done", "failed", "cancelled"]));
    return tr;
  }));
}

// Each pipeline: a summary row, then a row per stage with a bar of what went through it
// (passed on, dropped, failed) of the items that reached it.
function drawStages(pipelines) {
  const table = $("stages");
  table.hidden = pipelines.length === 0;
  fillRows(table.tBodies[0], pipelines.flatMap(p => {
    const head = el("tr", null, "pipeline");
    head.append(el("td", p.name), el("td", p.items + " items out, " + p.dropped + " dropped, " +
                                       p.failed + " failed in " + secs(p.wall_seconds)));
    head.children[1].colSpan = 9;
    return [head, ...p.stages.map((st, k) => {
      const tr = el("tr", null, "stage");
      const through = st.items_out + st.dropped + st.failed;
      tr.dataset.stage = p.name + "/" + (k + 1);
      tr.dataset.through = through;
      tr.dataset.itemsIn = st.items_in;
      tr.append(el("td", (k + 1) + " " + st.name), el("td"), el("td", st.items_in),
                el("td", st.items_out), el("td", st.dropped), el("td", st.failed),
                el("td", st.in_flight), el("td", num(st.items_per_second)),
                el("td", num(st.seconds_per_item)), el("td", num(st.workers, 2)));
      tr.children[1].appendChild(bar([st.items_out, st.dropped, st.failed], st.items_in,
                                     ["done", "dropped", "failed"]));
      return tr;
    })];
  }));
}

function drawNodes(nodes) {
  fillRows($("nodes").tBodies[0], nodes.flatMap((n, i) => {
    const tr = el("tr");
    tr.dataset.node = n.name;
    tr.dataset.state = n.state;
    const name = el("td", n.name);
    name.style.borderLeft = "6px solid " + PALETTE[i % PALETTE.length];
    tr.append(name, el("td", n.host), el("td", n.found), el("td", n.state, "state-" + n.state),
              el("td", n.workers), el("td", num(n.speed_score, 1)),
              el("td", num(n.relative_speed, 2)), el("td", n.load < 0 ? "?" : n.load.toFixed(2)),
              el("td", n.in_flight), el("td", n.jobs_done), el("td", n.failures),
              el("td", num(n.throughput_per_worker)), el("td", pct(n.share)));
    if (!n.reason) return [tr];
    const why = el("tr");
    why.append(el("td"), el("td", n.state + ": " + n.reason, "reason"));
    why.children[1].colSpan = 12;
    return [tr, why];
  }));
}

function drawContribution(s) {
  const b = s.batch;
  $("contribution-text").textContent = b.jobs + " jobs in " + secs(b.wall_seconds) +
    ", " + num(b.job_seconds, 1) + " s of job time: " + num(b.speedup, 2) +
    "× a single worker" + (b.resent ? "; " + b.resent + " sent again" : "") +
    (b.duplicates ? "; " + b.duplicates + " duplicate runs" : "") +
    "; through the driver " + bytes(b.bytes_sent) + " sent to nodes, " +
    bytes(b.bytes_received) + " received";
  const rows = s.nodes.filter(n => n.jobs_done > 0 || n.share > 0).map(n => {
    const row = el("div", null, "row");
    const b = bar([n.share], 1, ["share"]);
    b.firstChild.style.background = PALETTE[s.nodes.indexOf(n) % PALETTE.length];
    row.append(el("span", n.name + (n.host && n.host !== n.name ? " (" + n.host + ")" : "")), b,
               el("span", pct(n.share) + " of the work · " + n.jobs_done + " jobs · speed " +
                  num(n.relative_speed, 2)));
    return row;
  });
  $("shares").replaceChildren(...(rows.length ? rows : [el("p", "no node has finished a job yet", "none")]));
}

// The task stream as the HTML report draws it: a lane per worker, a bar per run.
function drawStream(s) {
  const t = s.tasks, cols = t.columns;
  const at = name => cols.indexOf(name);
  const [J, N, W, S, E, K, F] = ["job", "node", "worker", "start", "end", "kind", "fate"].map(at);
  const lanes = new Map();
  for (const r of t.recent) {
    const key = r[N] + "#" + r[W];
    if (!lanes.has(key)) lanes.set(key, { node: r[N], worker: r[W], runs: [] });
    lanes.get(key).runs.push(r);
  }
  const sorted = [...lanes.values()].sort((a, b) => a.node - b.node || a.worker - b.worker);
  let t0 = Infinity, t1 = 0;
  for (const r of t.recent) { t0 = Math.min(t0, r[S]); t1 = Math.max(t1, r[E]); }
  if (!isFinite(t0)) t0 = 0;
  t1 = Math.max(t1, t0 + 0.001);
  const label = 170, width = 1100, lane = 14, top = 4;
  const height = top + Math.max(1, sorted.length) * (lane + 3) + 22;
  const root = svg("svg", { viewBox: "0 0 " + (label + width + 10) + " " + height,
                            height: height, role: "img" });
  const defs = svg("defs", {});
  const pat = svg("pattern", { id: "pp-hatch", width: 5, height: 5, patternUnits: "userSpaceOnUse",
                               patternTransform: "rotate(45)" });
  pat.appendChild(svg("line", { x1: 0, y1: 0, x2: 0, y2: 5, stroke: "#fff", "stroke-width": 2.2 }));
  defs.appendChild(pat);
  root.appendChild(defs);
  const x = v => label + (v - t0) / (t1 - t0) * width;
  sorted.forEach((l, i) => {
    const y = top + i * (lane + 3);
    const node = s.nodes[l.node] ? s.nodes[l.node].name : "node " + l.node;
    root.appendChild(svg("rect", { x: label, y: y, width: width, height: lane, fill: "#f3f4f6" }));
    const text = svg("text", { x: label - 6, y: y + 11, "text-anchor": "end", "font-size": 11,
                               fill: "#222" });
    text.textContent = node + " #" + (l.worker + 1);
    root.appendChild(text);
    for (const r of l.runs) {
      const fill = r[F] === "failed" ? FAILED : r[F] === "crashed" ? CRASHED
                 : PALETTE[r[N] % PALETTE.length];
      const g = svg("g", { class: "run " + r[K] + " " + r[F] });
      const w = Math.max(x(r[E]) - x(r[S]), 1);
      const attrs = { x: x(r[S]), y: y, width: w, height: lane, fill: fill };
      if (r[F] === "lost") attrs["fill-opacity"] = 0.3;
      if (r[K] === "stolen") { attrs.stroke = "#111"; attrs["stroke-width"] = 0.9; }
      else { attrs.stroke = "#fff"; attrs["stroke-width"] = 0.5; }   // runs in a row stay apart
      g.appendChild(svg("rect", attrs));
      if (r[K] === "backup") {
        g.appendChild(svg("rect", { x: attrs.x, y: y, width: w, height: lane, fill: "url(#pp-hatch)" }));
      }
      const title = svg("title", {});
      title.textContent = "job " + r[J] + " on " + node + ": " + r[K] + ", " + r[F] + ", " +
        (r[E] - r[S]).toFixed(3) + " s";
      g.appendChild(title);
      root.appendChild(g);
    }
  });
  const axis = svg("text", { x: label, y: height - 6, "font-size": 11, fill: "#555b66" });
  axis.textContent = secs(t0) + " … " + secs(t1) + " since the batch started";
  root.appendChild(axis);
  $("stream").replaceChildren(root);
  $("stream-text").textContent = t.recent.length < t.executions
    ? "The last " + t.recent.length + " of " + t.executions + " runs." : t.executions + " runs.";
}

function drawFailures(failures) {
  $("failure-count").textContent = failures.length ? "(the last " + failures.length + ")" : "";
  if (!failures.length) {
    $("failures").replaceChildren(el("p", "none", "none"));
    return;
  }
  $("failures").replaceChildren(...failures.slice().reverse().map(f => {
    const d = el("div", null, "failure " + f.status);
    d.dataset.job = f.job;
    d.append(el("div", "job " + f.job + " on " + (f.node || "no node") + " — " + f.status +
                " at " + secs(f.at), "head"),
             el("pre", f.error, "error"));
    if (f.traceback) d.appendChild(el("pre", f.traceback, "traceback"));
    return d;
  }));
}

function drawOutput(lines) {
  const out = $("output");
  const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
  out.textContent = lines.map(o => "[job " + o.job + " on " + o.node + "] " + o.line).join("\n");
  if (atEnd) out.scrollTop = out.scrollHeight;
}

function draw(s) {
  drawSummary(s);
  drawGroups(s.groups);
  drawStages(s.pipelines || []);
  drawNodes(s.nodes);
  drawContribution(s);
  drawStream(s);
  drawFailures(s.failures);
  drawOutput(s.output);
  $("footer").textContent = "snapshot " + s.serial + ", updated " + new Date().toLocaleTimeString();
  document.body.dataset.serial = s.serial;
}

async function poll() {
  let next = POLL_MS;
  try {
    const r = await fetch("api/status", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const s = await r.json();
    draw(s);
    if (s.final) next = FINAL_POLL_MS;
  } catch (e) {
    const state = $("state");
    state.textContent = "driver not answering (" + e.message + ")";
    state.className = "state offline";
  }
  setTimeout(poll, next);
}

poll();
