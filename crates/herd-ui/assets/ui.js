// herd status page: polls the JSON endpoints under /ui/api and redraws the
// tables in place. Text goes into the page through textContent only, never
// as HTML. The token lives in an HttpOnly cookie this script cannot read.
"use strict";

(function () {
  const HOSTS_EVERY_MS = 2000;
  const AUDIT_EVERY_MS = 5000;

  const $ = (id) => document.getElementById(id);

  // A failed request: the server's message, and whether the session ended.
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function getJson(path) {
    const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
    if (response.status === 401) {
      // Signed out, revoked or expired: back to the form.
      window.location.assign("/ui/login");
      throw new ApiError(401, "signed out");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error && body.error.message ? body.error.message : "HTTP " + response.status;
      throw new ApiError(response.status, message);
    }
    return body;
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  // The row's first cell, naming it.
  function rowHeader(row, text) {
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = text;
    row.appendChild(th);
  }

  function button(text, label, onClick) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = text;
    element.setAttribute("aria-label", label);
    element.addEventListener("click", onClick);
    return element;
  }

  function stateCell(row, state) {
    const td = cell(row, state, "state state-" + state);
    td.dataset.state = state;
    return td;
  }

  function ago(seconds) {
    if (seconds === null || seconds === undefined) return "never";
    if (seconds < 60) return Math.round(seconds) + " s ago";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    return Math.round(seconds / 3600) + " h ago";
  }

  function setStatus(text, stale) {
    const status = $("status");
    status.textContent = text;
    status.classList.toggle("stale", Boolean(stale));
  }

  function replaceRows(table, rows) {
    const body = table.tBodies[0];
    body.replaceChildren(...rows);
  }

  // === hosts ===

  function hostRow(host) {
    const row = document.createElement("tr");
    row.dataset.host = host.name;
    rowHeader(row, host.name);
    stateCell(row, host.state);
    cell(row, host.paths.join(", "));
    cell(row, host.latency_ms === null || host.latency_ms === undefined ? "" : host.latency_ms + " ms", "num");
    cell(row, ago(host.last_probe_s_ago), "num");
    const tags = cell(row, "");
    for (const tag of host.tags) {
      const span = document.createElement("span");
      span.className = "tag";
      span.textContent = tag;
      tags.appendChild(span);
    }
    cell(row, host.error || "", "err");
    const action = cell(row, "");
    if (host.paths.includes("http") || host.paths.includes("https") || host.paths.includes("channel")) {
      action.appendChild(button("Servers", "Servers on " + host.name, () => openServers(host.name)));
    }
    return row;
  }

  async function refreshHosts() {
    const data = await getJson("/ui/api/hosts");
    replaceRows($("hosts"), data.hosts.map(hostRow));
    $("hosts-empty").hidden = data.hosts.length > 0;
  }

  // === LLMs ===

  function modelRow(model) {
    const herd = model.herd || {};
    const row = document.createElement("tr");
    row.dataset.model = model.id;
    rowHeader(row, model.id);
    cell(row, herd.kind || "");
    stateCell(row, herd.state || "unknown");
    cell(row, (herd.hosts || []).join(", "));
    cell(row, herd.pool || "");
    cell(row, herd.owner || model.owned_by || "");
    const load = herd.in_flight === undefined ? "" : herd.in_flight + (herd.max_concurrency ? " / " + herd.max_concurrency : "");
    cell(row, load, "num");
    return row;
  }

  async function refreshModels() {
    const data = await getJson("/ui/api/models");
    if (data.models === null) return false;
    $("models-section").hidden = false;
    replaceRows($("models"), data.models.map(modelRow));
    $("models-empty").hidden = data.models.length > 0;
    return true;
  }

  // === servers of one host ===

  let serversHost = null;

  function serverRow(server) {
    const row = document.createElement("tr");
    row.dataset.server = server.name;
    rowHeader(row, server.name);
    stateCell(row, server.state);
    cell(row, server.restarts, "num");
    cell(row, server.source);
    cell(row, server.error || "", "err");
    const action = cell(row, "");
    action.appendChild(button("Last lines", "Last lines of " + server.name, () => showLog(server.name)));
    return row;
  }

  function showServersError(message) {
    const error = $("servers-error");
    error.textContent = message || "";
    error.hidden = !message;
  }

  async function loadServers() {
    if (!serversHost) return;
    const host = serversHost;
    try {
      const data = await getJson("/ui/api/hosts/" + encodeURIComponent(host) + "/servers");
      if (host !== serversHost) return;
      replaceRows($("servers"), data.servers.map(serverRow));
      $("servers-empty").hidden = data.servers.length > 0;
      showServersError("");
    } catch (e) {
      if (e.status !== 401) showServersError(e.message);
    }
  }

  function openServers(host) {
    serversHost = host;
    $("servers-host").textContent = host;
    $("servers-section").hidden = false;
    $("server-log").hidden = true;
    replaceRows($("servers"), []);
    $("servers-empty").hidden = true;
    loadServers();
  }

  async function showLog(name) {
    const host = serversHost;
    const log = $("server-log");
    try {
      const path = "/ui/api/hosts/" + encodeURIComponent(host) + "/servers/" + encodeURIComponent(name) + "/logs";
      const data = await getJson(path);
      log.textContent = data.lines.length ? data.lines.join("\n") : "(nothing written yet)";
      log.setAttribute("aria-label", "Last lines of " + name + " on " + host);
      log.hidden = false;
      showServersError("");
    } catch (e) {
      if (e.status !== 401) showServersError(e.message);
    }
  }

  // === audit ===

  function auditQuery() {
    const form = $("audit-filters");
    const params = new URLSearchParams();
    for (const field of ["user", "tool", "host", "outcome", "since"]) {
      const value = form.elements[field].value.trim();
      if (value) params.set(field, value);
    }
    const query = params.toString();
    return "/ui/api/audit" + (query ? "?" + query : "");
  }

  function auditRow(record) {
    const row = document.createElement("tr");
    cell(row, record.time.replace("T", " ").replace(/\.\d+/, ""));
    cell(row, record.user || "");
    cell(row, record.method);
    cell(row, record.target || "");
    cell(row, record.hosts.join(", "));
    cell(row, record.path || "");
    cell(row, record.duration_ms + " ms", "num");
    stateCell(row, record.outcome);
    cell(row, record.error || "", "err");
    return row;
  }

  async function refreshAudit() {
    const error = $("audit-error");
    try {
      const data = await getJson(auditQuery());
      replaceRows($("audit"), data.records.map(auditRow));
      $("audit-empty").hidden = data.records.length > 0;
      error.hidden = true;
    } catch (e) {
      if (e.status === 401) throw e;
      error.textContent = e.message;
      error.hidden = false;
    }
  }

  // === polling ===

  function every(ms, task) {
    const run = async () => {
      try {
        await task();
      } catch (e) {
        if (e.status === 401) return;
        setStatus("Could not update: " + e.message, true);
      }
      window.setTimeout(run, ms);
    };
    run();
  }

  async function start() {
    const me = await getJson("/ui/api/me");
    $("who").textContent = me.name;
    $("role").textContent = "(" + me.role + ")";
    $("servers-refresh").addEventListener("click", loadServers);
    $("servers-close").addEventListener("click", () => {
      serversHost = null;
      $("servers-section").hidden = true;
    });
    every(HOSTS_EVERY_MS, async () => {
      await Promise.all([refreshHosts(), refreshModels()]);
      setStatus("Updated " + new Date().toLocaleTimeString(), false);
    });
    if (me.audit) {
      $("audit-section").hidden = false;
      $("audit-filters").addEventListener("submit", (event) => {
        event.preventDefault();
        refreshAudit();
      });
      every(AUDIT_EVERY_MS, refreshAudit);
    }
  }

  start().catch((e) => {
    if (e.status !== 401) setStatus("Could not load the page: " + e.message, true);
  });
})();
