// The staff API client. The bearer token lives in sessionStorage: it survives a reload of the
// tab but not closing it, and is never shared with other tabs (one sign-in per shift, per tab).

const KEY = "dt-admin-session";
const BASE = "/v1/kb";

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

export function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return saved && saved.token ? saved : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}

export class Api {
  /** `onUnauthorized` runs when the server no longer accepts the token (expired, revoked). */
  constructor(onUnauthorized) {
    this.session = loadSession();
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, { body, query, text = false } = {}) {
    const url = new URL(BASE + path, location.origin);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
    }
    const headers = { Accept: "application/json" };
    if (this.session) headers.Authorization = `Bearer ${this.session.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 401 && this.session && path !== "/login") {
      this.session = null;
      saveSession(null);
      this.onUnauthorized?.();
    }
    if (!res.ok) {
      let detail = res.statusText;
      try {
        const data = await res.json();
        detail = data.detail ?? data;
      } catch { /* a body that is not JSON: keep the status text */ }
      throw new ApiError(res.status, detail);
    }
    if (res.status === 204) return null;
    return text ? res.text() : res.json();
  }

  get(path, query) { return this.request("GET", path, { query }); }
  post(path, body, query) { return this.request("POST", path, { body: body ?? {}, query }); }

  async login(name, password) {
    const out = await this.request("POST", "/login", { body: { name, password } });
    this.session = { token: out.token, name: out.name, role: out.role, expires_at: out.expires_at };
    saveSession(this.session);
    return this.session;
  }

  async logout() {
    try {
      if (this.session) await this.request("POST", "/logout", { body: {} });
    } finally {
      this.session = null;
      saveSession(null);
    }
  }

  listEntries(filters) { return this.get("/entries", { limit: 1000, ...filters }); }
  entry(id) { return this.get(`/entries/${encodeURIComponent(id)}`); }
  history(id) { return this.get(`/entries/${encodeURIComponent(id)}/history`); }
  create(entry, submit) { return this.post("/entries", { entry, submit }); }
  update(entry, baseVersion, submit) {
    return this.request("PUT", `/entries/${encodeURIComponent(entry.id)}`,
      { body: { entry, base_version: baseVersion, submit } });
  }
  requestDelete(id, baseVersion) {
    return this.request("DELETE", `/entries/${encodeURIComponent(id)}`, { query: { base_version: baseVersion } });
  }
  rollback(id, toVersion, baseVersion) {
    return this.post(`/entries/${encodeURIComponent(id)}/rollback`, { to_version: toVersion, base_version: baseVersion });
  }
  drafts() { return this.get("/drafts"); }
  review(id, version, verdict, comment) {
    return this.post(`/entries/${encodeURIComponent(id)}/versions/${version}/${verdict}`, { comment });
  }
  submit(id, version) { return this.post(`/entries/${encodeURIComponent(id)}/versions/${version}/submit`); }
  importText(format, content, approve, source) { return this.post("/import", { format, content, approve, source }); }
  exportText(format) { return this.request("GET", "/export", { query: { format }, text: true }); }
  test(question, k) { return this.post("/test", { question, k }); }
  gaps(query) { return this.get("/gaps", query); }
  audit(query) { return this.get("/audit", query); }
  verify() { return this.get("/audit/verify"); }
}

export const ROLES = ["viewer", "editor", "reviewer", "admin"];

/** Whether `role` is at least `needed` (roles are ordered, as on the server). */
export function roleAtLeast(role, needed) {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** A readable sentence from any error body the API sends (string, field error, row list, pydantic list). */
export function errorText(err) {
  if (!(err instanceof ApiError)) return String(err?.message || err);
  const d = err.detail;
  if (typeof d === "string") return `${err.status}: ${d}`;
  if (Array.isArray(d)) return `${err.status}: ` + d.map((x) => `${(x.loc || []).join(".")}: ${x.msg}`).join("; ");
  if (d && d.field) return `${err.status}: ${d.entry_id ? d.entry_id + ": " : ""}${d.field}: ${d.reason}`;
  if (d && d.message) return `${err.status}: ${d.message}`;
  return `${err.status}: ${JSON.stringify(d)}`;
}
