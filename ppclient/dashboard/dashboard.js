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
    tr.dataset.throughput = n.throughput_per_worker;
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

// The task stream, as the HTML report draws it and live: a lane per worker, a bar per
// run, and a growing bar per job running now. /api/stream?since=SEQ gives only the runs
// that ended since the last poll; the page keeps at most STREAM_BARS of them, and only
// those of the last STREAM_WINDOW_S seconds, so a long batch never grows it.
const STREAM_BARS = 2000, STREAM_WINDOW_S = 60;
const stream = { seq: 0, ended: [], running: [], cols: null, rcols: null, elapsed: 0,
                 final: false, skipped: 0, note: "" };

function takeStream(r) {
  if (r.seq < stream.seq) { stream.seq = 0; stream.ended = []; }   // another driver
  stream.cols = r.columns;
  stream.rcols = r.running_columns;
  stream.skipped += r.skipped;
  for (const row of r.ended) stream.ended.push(row);
  stream.seq = r.seq;
  stream.running = r.running;
  stream.elapsed = r.elapsed;
  stream.final = r.final;
  stream.note = r.running_start;
}

function streamWindow() {
  const E = stream.cols ? stream.cols.indexOf("end") : 4;
  let t1 = stream.elapsed;
  if (stream.final) for (const r of stream.ended) t1 = Math.max(t1, r[E]);
  const t0 = Math.max(0, t1 - STREAM_WINDOW_S);
  // Bounded: the bars of the window, at most STREAM_BARS (the newest).
  stream.ended = stream.ended.filter(r => r[E] >= t0);
  if (stream.ended.length > STREAM_BARS) stream.ended.splice(0, stream.ended.length - STREAM_BARS);
  return [t0, Math.max(t1, t0 + 0.001)];
}

// One lane per worker of each connected node, and per worker any bar names.
function streamLanes(s, bars) {
  const lanes = new Map();
  const add = (node, worker) => {
    const key = node + "#" + worker;
    if (!lanes.has(key)) lanes.set(key, { node: node, worker: worker, runs: [] });
    return lanes.get(key);
  };
  s.nodes.forEach((n, i) => {
    if (n.state === "working" || n.state === "idle" || n.state === "paused") {
      for (let w = 0; w < n.workers; ++w) add(i, w);
    }
  });
  for (const b of bars) add(b.node, b.worker).runs.push(b);
  return [...lanes.values()].sort((a, b) => a.node - b.node || a.worker - b.worker);
}

function streamBars() {
  const at = (cols, name) => cols.indexOf(name);
  const c = stream.cols, rc = stream.rcols;
  const bars = stream.ended.map(r => ({ job: r[at(c, "job")], node: r[at(c, "node")],
    worker: r[at(c, "worker")], start: r[at(c, "start")], end: r[at(c, "end")],
    kind: r[at(c, "kind")], fate: r[at(c, "fate")], running: false }));
  if (!stream.final) {
    for (const r of stream.running) {
      bars.push({ job: r[at(rc, "job")], node: r[at(rc, "node")], worker: r[at(rc, "worker")],
                  start: r[at(rc, "start")], end: stream.elapsed, kind: r[at(rc, "kind")],
                  fate: "running", running: true });
    }
  }
  return bars;
}

function runBar(b, y, lane, x, node) {
  const fill = b.fate === "failed" ? FAILED : b.fate === "crashed" ? CRASHED
             : PALETTE[b.node % PALETTE.length];
  const g = svg("g", { class: "run " + b.kind + " " + b.fate });
  g.setAttribute("data-job", b.job);
  const x0 = x(b.start), w = Math.max(x(b.end) - x0, 1);
  const attrs = { x: x0, y: y, width: w, height: lane, fill: fill };
  if (b.fate === "lost") attrs["fill-opacity"] = 0.3;
  if (b.running) attrs["fill-opacity"] = 0.55;
  if (b.kind === "stolen") { attrs.stroke = "#111"; attrs["stroke-width"] = 0.9; }
  else { attrs.stroke = "#fff"; attrs["stroke-width"] = 0.5; }   // runs in a row stay apart
  g.appendChild(svg("rect", attrs));
  if (b.kind === "backup") {
    g.appendChild(svg("rect", { x: x0, y: y, width: w, height: lane, fill: "url(#pp-hatch)" }));
  }
  if (b.running) {   // its growing end
    g.appendChild(svg("rect", { x: x0 + w - 2, y: y, width: 2, height: lane, fill: "#111" }));
  }
  const title = svg("title", {});
  title.textContent = "job " + b.job + " on " + node + ": " + b.kind + ", " +
    (b.running ? "running for " + (b.end - b.start).toFixed(1) + " s (start reckoned)"
               : b.fate + ", " + (b.end - b.start).toFixed(3) + " s");
  g.appendChild(title);
  return g;
}

function drawStream(s) {
  if (!stream.cols) return;
  const [t0, t1] = streamWindow();
  const bars = streamBars().filter(b => b.end >= t0);
  const sorted = streamLanes(s, bars);
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
  const x = v => label + (Math.max(v, t0) - t0) / (t1 - t0) * width;
  sorted.forEach((l, i) => {
    const y = top + i * (lane + 3);
    const node = s.nodes[l.node] ? s.nodes[l.node].name : "node " + l.node;
    const row = svg("g", { class: "lane" });
    row.setAttribute("data-node", node);
    row.setAttribute("data-worker", l.worker + 1);
    row.appendChild(svg("rect", { x: label, y: y, width: width, height: lane, fill: "#f3f4f6" }));
    const text = svg("text", { x: label - 6, y: y + 11, "text-anchor": "end", "font-size": 11,
                               fill: "#222" });
    text.textContent = node + " #" + (l.worker + 1);
    row.appendChild(text);
    for (const b of l.runs) row.appendChild(runBar(b, y, lane, x, node));
    root.appendChild(row);
  });
  const axis = svg("text", { x: label, y: height - 6, "font-size": 11, fill: "#555b66" });
  axis.textContent = secs(t0) + " … " + secs(t1) + " since the batch started";
  root.appendChild(axis);
  $("stream").replaceChildren(root);
  const running = bars.filter(b => b.running).length;
  $("stream-text").textContent = (t0 > 0 ? "The last " + STREAM_WINDOW_S + " s: " : "") +
    stream.ended.length + " of " + stream.seq + " runs drawn" +
    (stream.final ? "." : ", " + running + " running (a running job's start is " +
     stream.note + ").");
  $("stream").dataset.running = running;
  $("stream").dataset.ended = stream.ended.length;
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

async function fetchJson(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error("HTTP " + r.status);
  return r.json();
}

async function poll() {
  let next = POLL_MS;
  try {
    const s = await fetchJson("api/status");
    takeStream(await fetchJson("api/stream?since=" + stream.seq));
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
