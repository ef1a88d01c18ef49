/**
 * The dashboard: one page, one stylesheet, one script, served by the HTTP side as they are (no
 * build step, no request to anything but its own origin). Every string from the logs reaches the
 * page through `textContent`, never as HTML. Alerts arrive over server-sent events
 * (`/api/stream`); the browser's `Last-Event-ID` resumes the stream after a server restart.
 */

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>guestops</title>
<link rel="stylesheet" href="/dashboard.css">
</head>
<body>
<header><h1>guestops</h1><span id="status">connecting…</span><span id="who"></span></header>
<main>
<section><h2>Alerts</h2>
<table id="alerts"><thead><tr><th>Severity</th><th>Alert</th><th>Principal</th><th>VM</th><th>Last seen</th><th>Triage</th><th></th></tr></thead><tbody></tbody></table>
</section>
<section id="detail" hidden><h2>Alert <span id="detail-id"></span></h2>
<p id="detail-title"></p>
<h3>Reasons</h3><ul id="detail-reasons"></ul>
<h3>Evidence</h3><pre id="detail-evidence"></pre>
<div id="triage-form">
<button data-action="acknowledge">Acknowledge</button>
<input id="assignee" placeholder="assignee" maxlength="100"><button data-action="assign">Assign</button>
<input id="reason" placeholder="reason" maxlength="1000"><button data-action="close">Close</button>
<button data-action="reopen">Reopen</button>
<span id="triage-result"></span>
</div>
<h3>History</h3><ul id="detail-history"></ul>
<form id="exception-form" autocomplete="off">
<h3>Make an exception</h3>
<p>Later findings of this alert's rules by this principal on this VM are accepted until the expiry.</p>
<input id="ex-owner" placeholder="owner" maxlength="200" required>
<input id="ex-ticket" placeholder="ticket" maxlength="200" required>
<input id="ex-expires" placeholder="expires (2027-03-31)" maxlength="40" required>
<input id="ex-reason" placeholder="reason" maxlength="1000">
<button type="submit">Make exception</button>
<span id="exception-result"></span>
</form>
</section>
<section><h2>Exceptions</h2>
<table id="exceptions"><thead><tr><th>Id</th><th>Ticket</th><th>Owner</th><th>Matches</th><th>Expires</th><th>Reason</th><th>Made by</th><th>State</th><th></th></tr></thead><tbody></tbody></table>
<h3>Excepted alerts <span id="excepted-total"></span></h3>
<table id="excepted"><thead><tr><th>Severity</th><th>Alert</th><th>Last seen</th><th>Exceptions</th></tr></thead><tbody></tbody></table>
</section>
<section><h2>Incidents</h2>
<table id="incidents"><thead><tr><th>Severity</th><th>Incident</th><th>Title</th><th>Alerts</th><th>Last seen</th></tr></thead><tbody></tbody></table>
</section>
<section><h2>Coverage</h2>
<table id="coverage"><thead><tr><th>Host</th><th>Records</th><th>Last record</th><th>State</th></tr></thead><tbody></tbody></table>
<ul id="coverage-findings"></ul>
</section>
<section><h2>Receiver</h2><p id="reload"></p><pre id="health"></pre></section>
</main>
<script src="/dashboard.js" type="module"></script>
</body>
</html>
`;

export const DASHBOARD_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f8fa; }
header { display: flex; gap: 1em; align-items: baseline; padding: .5em 1em; background: #24292f; color: #fff; }
header h1 { font-size: 1.2em; margin: 0; }
main { padding: 0 1em 2em; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .25em .5em; border-bottom: 1px solid #d0d7de; vertical-align: top; }
tr.new { animation: flash 2s; }
@keyframes flash { from { background: #fff8c5; } to { background: #fff; } }
.sev-critical { color: #fff; background: #82071e; }
.sev-high { color: #fff; background: #cf222e; }
.sev-medium { background: #fb8f44; }
.sev-low { background: #ddf4ff; }
.sev-info { background: #eaeef2; }
td.sev { font-weight: 600; }
pre { background: #fff; padding: .5em; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.silent { color: #cf222e; font-weight: 600; }
main.login { max-width: 24em; margin: 4em auto; }
`;

export const DASHBOARD_JS = `
const $ = (sel) => document.querySelector(sel);
let session = { csrf: "", role: "viewer" };
let selected = "";
const alerts = new Map();

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function principalOf(a) {
  return (a.principal && a.principal.display) || "";
}

function renderAlert(a, fresh) {
  alerts.set(a.id, a);
  const tbody = $("#alerts tbody");
  let row = tbody.querySelector('tr[data-id="' + CSS.escape(a.id) + '"]');
  const created = !row;
  if (created) row = document.createElement("tr");
  row.replaceChildren();
  row.dataset.id = a.id;
  cell(row, a.severity, "sev sev-" + String(a.severity).replace(/[^a-z]/g, ""));
  cell(row, a.title);
  cell(row, principalOf(a));
  cell(row, a.vm);
  cell(row, a.lastSeen || "");
  cell(row, a.triage ? a.triage.status + (a.triage.assignee ? " (" + a.triage.assignee + ")" : "") : "new");
  const open = document.createElement("button");
  open.textContent = "Open";
  open.addEventListener("click", () => showDetail(a.id));
  const td = document.createElement("td");
  td.appendChild(open);
  row.appendChild(td);
  if (created) tbody.prepend(row);
  if (fresh) {
    row.classList.remove("new");
    void row.offsetWidth;
    row.classList.add("new");
  }
}

function renderIncident(i) {
  const tbody = $("#incidents tbody");
  let row = tbody.querySelector('tr[data-id="' + CSS.escape(i.id) + '"]');
  const created = !row;
  if (created) row = document.createElement("tr");
  row.replaceChildren();
  row.dataset.id = i.id;
  cell(row, i.severity, "sev sev-" + String(i.severity).replace(/[^a-z]/g, ""));
  cell(row, i.id);
  cell(row, i.title);
  cell(row, (i.alerts || []).length);
  cell(row, i.lastSeen || "");
  if (created) tbody.prepend(row);
}

async function api(path, options) {
  const res = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  if (res.status === 401) { location.href = "/login"; throw new Error("unauthorised"); }
  return res;
}

async function showDetail(id) {
  selected = id;
  const res = await api("/api/alerts/" + encodeURIComponent(id));
  if (!res.ok) return;
  const d = await res.json();
  const a = d.alert;
  $("#detail").hidden = false;
  $("#detail-id").textContent = a.id;
  $("#detail-title").textContent = a.title + " — " + principalOf(a) + " on " + a.vm;
  const reasons = $("#detail-reasons");
  reasons.replaceChildren();
  for (const r of a.reasons || []) {
    const li = document.createElement("li");
    li.textContent = r;
    reasons.appendChild(li);
  }
  const lines = [];
  for (const e of d.evidence || []) for (const l of e.lines || []) lines.push(l);
  $("#detail-evidence").textContent = lines.join("\\n");
  const history = $("#detail-history");
  history.replaceChildren();
  for (const h of d.triageHistory || []) {
    const li = document.createElement("li");
    li.textContent = new Date(h.atMs).toISOString() + " " + h.actor + ": " + h.action + " → " + h.status +
      (h.assignee ? " (" + h.assignee + ")" : "") + (h.reason ? " — " + h.reason : "");
    history.appendChild(li);
  }
  $("#triage-form").hidden = session.role !== "analyst";
  $("#exception-form").hidden = session.role !== "analyst";
  $("#exception-result").textContent = "";
}

async function post(path, body) {
  const send = () => api(path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": session.csrf },
    body: JSON.stringify(body || {}),
  });
  let res = await send();
  if (res.status === 403) { await loadSession(); res = await send(); }
  return res;
}

async function makeException(ev) {
  ev.preventDefault();
  if (!selected) return;
  const body = {
    alert: selected,
    owner: $("#ex-owner").value,
    ticket: $("#ex-ticket").value,
    expires: $("#ex-expires").value,
  };
  if ($("#ex-reason").value) body.reason = $("#ex-reason").value;
  const res = await post("/api/exceptions", body);
  const out = await res.json();
  $("#exception-result").textContent = res.ok ? "made " + out.id : (out.error || "failed");
  if (res.ok) loadExceptions();
}

function describeMatch(x) {
  if (x.source === "store") return (x.rules || []).join(", ") + " · " + x.account + " · " + x.vm;
  const parts = [Array.isArray(x.rules) ? x.rules.join(", ") : "any rule"];
  for (const k of ["accounts", "vms", "hosts", "methods"]) if (x[k]) parts.push(k + ": " + x[k].join(", "));
  return parts.join(" · ");
}

async function loadExceptions() {
  const res = await api("/api/exceptions");
  if (!res.ok) return;
  const list = await res.json();
  const tbody = $("#exceptions tbody");
  tbody.replaceChildren();
  const rows = [...list.store, ...list.policy.map((x) => Object.assign({ createdBy: "policy file" }, x))];
  for (const x of rows) {
    const row = document.createElement("tr");
    row.dataset.id = x.id;
    cell(row, x.id);
    cell(row, x.ticket);
    cell(row, x.owner);
    cell(row, describeMatch(x));
    cell(row, x.expires);
    cell(row, x.reason || "");
    cell(row, x.createdMs ? x.createdBy + " " + new Date(x.createdMs).toISOString() : x.createdBy);
    const expired = Date.parse(x.expires) <= Date.now();
    cell(row, x.revokedMs ? "revoked by " + x.revokedBy + " " + new Date(x.revokedMs).toISOString()
      : expired ? "expired" : "active");
    const td = document.createElement("td");
    if (x.source === "store" && !x.revokedMs && session.role === "analyst") {
      const b = document.createElement("button");
      b.textContent = "Revoke";
      b.addEventListener("click", async () => {
        const r = await post("/api/exceptions/" + encodeURIComponent(x.id) + "/revoke");
        if (r.ok) loadExceptions();
      });
      td.appendChild(b);
    }
    row.appendChild(td);
    tbody.appendChild(row);
  }
  const eres = await api("/api/excepted");
  if (!eres.ok) return;
  const ex = await eres.json();
  $("#excepted-total").textContent = "(" + ex.total + ")";
  const etbody = $("#excepted tbody");
  etbody.replaceChildren();
  for (const a of ex.items) {
    const row = document.createElement("tr");
    row.dataset.id = a.id;
    cell(row, a.severity, "sev sev-" + String(a.severity).replace(/[^a-z]/g, ""));
    cell(row, a.title);
    cell(row, a.lastSeen || "");
    cell(row, (a.exceptions || []).map((e) => e.ticket + " (" + e.owner + ")").join("; "));
    etbody.appendChild(row);
  }
}

async function doTriage(action) {
  if (!selected) return;
  const body = { action };
  if (action === "assign") body.assignee = $("#assignee").value;
  if (action === "close" || action === "reopen") { if ($("#reason").value) body.reason = $("#reason").value; }
  let res = await api("/api/alerts/" + encodeURIComponent(selected) + "/triage", {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": session.csrf },
    body: JSON.stringify(body),
  });
  if (res.status === 403) {
    await loadSession();
    res = await api("/api/alerts/" + encodeURIComponent(selected) + "/triage", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": session.csrf },
      body: JSON.stringify(body),
    });
  }
  const out = await res.json();
  $("#triage-result").textContent = res.ok ? "saved (revision " + out.revision + ")" : (out.error || "failed");
  if (res.ok) {
    const a = alerts.get(selected);
    if (a) { a.triage = out; renderAlert(a, false); }
    showDetail(selected);
  }
}

async function loadSession() {
  const res = await api("/api/session");
  session = await res.json();
  $("#who").textContent = session.actor + " (" + session.role + ")";
}

async function loadCoverage() {
  const res = await api("/api/coverage");
  if (!res.ok) return;
  const c = await res.json();
  const tbody = $("#coverage tbody");
  tbody.replaceChildren();
  for (const h of c.hosts) {
    const row = document.createElement("tr");
    cell(row, h.host || "(no host name)");
    cell(row, h.records);
    cell(row, h.lastRecord || "");
    cell(row, h.silent ? "silent" : "sending", h.silent ? "silent" : "");
    tbody.appendChild(row);
  }
  const ul = $("#coverage-findings");
  ul.replaceChildren();
  for (const f of (c.report && c.report.findings) || []) {
    const li = document.createElement("li");
    li.textContent = "[" + f.severity + "] " + (f.host ? f.host + ": " : "") + f.message;
    ul.appendChild(li);
  }
  const hres = await api("/api/health");
  if (!hres.ok) return;
  const health = await hres.json();
  $("#health").textContent = JSON.stringify(health, null, 2);
  const r = health.counters && health.counters.reload;
  if (r) {
    const restart = r.restartNeeded.length ? "; needs a restart: " + r.restartNeeded.join(", ") : "";
    $("#reload").className = r.lastError ? "silent" : "";
    $("#reload").textContent = r.lastError
      ? "Last reload failed (" + r.lastFailed + "), the running files are kept: " + r.lastError + restart
      : "Reloads: " + r.ok + (r.lastOk ? ", last " + r.lastOk : "") + restart;
  }
}

/** Event ids as received, in order (a gap or a repeat shows here): data-events on the body. */
const received = [];
function seen(id) {
  received.push(Number(id));
  if (received.length > 1000) received.splice(0, received.length - 1000);
  document.body.dataset.events = received.join(" ");
}

async function main() {
  await loadSession();
  for (const b of document.querySelectorAll("#triage-form button")) {
    b.addEventListener("click", () => doTriage(b.dataset.action));
  }
  $("#exception-form").addEventListener("submit", makeException);
  const [ar, ir] = await Promise.all([api("/api/alerts"), api("/api/incidents")]);
  const a = await ar.json();
  const i = await ir.json();
  for (const x of a.items.slice().reverse()) renderAlert(x, false);
  for (const x of i.items.slice().reverse()) renderIncident(x);
  const after = Math.max(a.lastEventId, i.lastEventId);
  const source = new EventSource("/api/stream?after=" + after);
  source.addEventListener("open", () => { $("#status").textContent = "live"; });
  source.addEventListener("error", () => { $("#status").textContent = "reconnecting…"; });
  source.addEventListener("alert", (ev) => {
    seen(ev.lastEventId);
    const e = JSON.parse(ev.data);
    const prev = alerts.get(e.alert.id);
    e.alert.triage = prev ? prev.triage : { status: "new" };
    renderAlert(e.alert, true);
  });
  source.addEventListener("incident", (ev) => {
    seen(ev.lastEventId);
    const e = JSON.parse(ev.data);
    renderIncident(e.incident);
  });
  // while the server restarts a refresh fails: the next one catches up
  const refresh = () => {
    loadCoverage().catch(() => undefined);
    loadExceptions().catch(() => undefined);
  };
  refresh();
  setInterval(refresh, 5000);
}

main().catch((e) => { $("#status").textContent = "error: " + e.message; });
`;
