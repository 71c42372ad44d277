// The staff console: sign-in, navigation between views, the UI language and the role.
// The role only shapes the page (what is offered); the server checks every call itself.

import { Api, errorText, roleAtLeast } from "./api.js";
import { $, replace } from "./dom.js";
import { applyStrings, t as translate, roleName } from "./i18n.js";
import { entriesView } from "./entries.js";
import { editorView } from "./editor.js";
import { reviewView } from "./review.js";
import { transferView } from "./transfer.js";
import { testView, gapsView } from "./insight.js";
import { auditView } from "./audit.js";

const params = new URLSearchParams(location.search);
const ctx = {
  lang: params.get("lang") === "en" || (!params.get("lang") && localStorage.getItem("dt-admin-lang") === "en") ? "en" : "zh",
  api: null,
  t: (key, ...args) => translate(ctx.lang, key, ...args),
  me: () => ctx.api.session,
  can: (role) => !!ctx.api.session && roleAtLeast(ctx.api.session.role, role),
  go: (hash) => { if (location.hash === hash) route(); else location.hash = hash; },
  flash,
  errorText,
};

const views = {
  entries: entriesView, entry: editorView, new: editorView, review: reviewView,
  transfer: transferView, test: testView, gaps: gapsView, audit: auditView,
};
let current = null;

function flash(message, kind = "info") {
  const box = $("flash");
  box.dataset.kind = kind;
  replace(box, message || "");
}

function applyRole() {
  const session = ctx.api.session;
  document.body.dataset.role = session ? session.role : "";
  for (const node of document.querySelectorAll("[data-min-role]")) node.hidden = !ctx.can(node.dataset.minRole);
  $("whoami").hidden = $("signout").hidden = !session;
  if (session) replace($("whoami"), `${session.name} · ${roleName(ctx.lang, session.role)}`);
}

function setLang(lang) {
  ctx.lang = lang;
  localStorage.setItem("dt-admin-lang", lang);
  applyStrings(lang);
  for (const b of document.querySelectorAll(".lang-switch button")) {
    b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  }
  applyRole();
  current?.view.relabel?.(ctx);
}

function showSignedIn(signedIn) {
  $("login-view").hidden = signedIn;
  $("app-view").hidden = !signedIn;
  applyRole();
}

async function route() {
  if (!ctx.api.session) { showSignedIn(false); return; }
  showSignedIn(true);
  const [, name = "entries", ...rest] = (location.hash || "#/entries").split("/");
  const key = views[name] ? name : "entries";
  const view = views[key];
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : null;
  if (current && current.view !== view) current.view.leave?.(ctx);
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== view.section;
  for (const link of document.querySelectorAll(".tabs a")) {
    const active = link.dataset.view === key || (key !== "entries" && view === editorView && link.dataset.view === "entries");
    if (active) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  current = { view, key, arg };
  const note = ctx.nextFlash;
  ctx.nextFlash = null;
  flash("");
  try {
    await view.show(ctx, key === "new" ? null : arg);
    if (note) flash(...note);
  } catch (err) {
    flash(errorText(err), "error");
  }
}

async function signIn(event) {
  event.preventDefault();
  const name = $("login-name").value.trim();
  const password = $("login-password").value;
  const error = $("login-error");
  replace(error, "");
  if (!name || !password) { replace(error, ctx.t("login_missing")); return; }
  $("login-submit").disabled = true;
  try {
    await ctx.api.login(name, password);
    $("login-password").value = "";
    if (!location.hash || location.hash === "#/") location.hash = "#/entries";
    await route();
    $("main").focus({ preventScroll: true });
  } catch (err) {
    replace(error, err.status === 401 ? ctx.t("login_failed") : err.status === 429 ? ctx.t("login_throttled") : errorText(err));
    $("login-password").select();
  } finally {
    $("login-submit").disabled = false;
  }
}

async function signOut() {
  await ctx.api.logout().catch(() => {});
  current = null;
  showSignedIn(false);
  replace($("login-error"), "");
  $("login-name").focus();
}

function onUnauthorized() {
  showSignedIn(false);
  replace($("login-error"), ctx.t("session_expired"));
}

async function start() {
  ctx.api = new Api(onUnauthorized);
  for (const view of new Set(Object.values(views))) view.mount?.(ctx);
  $("login-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  for (const b of document.querySelectorAll(".lang-switch button")) b.addEventListener("click", () => setLang(b.dataset.lang));
  window.addEventListener("hashchange", route);
  setLang(ctx.lang);
  if (ctx.api.session) {
    // A token kept from before a reload may have expired meanwhile: ask the server who we are.
    try {
      const me = await ctx.api.get("/me");
      ctx.api.session.role = me.role;
    } catch { /* onUnauthorized has shown the sign-in form */ }
  }
  await route();
  window.adminConsole = { ctx, ready: true };
}

start();
