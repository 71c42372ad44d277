// One entry: the bilingual form (both languages side by side), submit, request deletion, and its
// version history with a diff between any two versions and rollback to an earlier approved one.

import { $, el, fmtTime, onSubmit, replace, table } from "./dom.js";
import { renderDiff } from "./diff.js";
import { diffLabels, kindName, statusName } from "./i18n.js";

const LANGS = ["zh", "en"];
let state = { id: null, record: null, versions: [] };
let loads = 0;
let started = 0;

function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

/** The form as an entry in the JSONL contract's shape; a language left blank is left out. */
function readForm() {
  const entry = { id: $("e-id").value.trim(), questions: {}, answer: {}, disclosure: {}, tags: [] };
  for (const lang of LANGS) {
    const questions = lines($(`e-q-${lang}`).value);
    const answer = $(`e-a-${lang}`).value.trim();
    const disclosure = $(`e-d-${lang}`).value.trim();
    if (questions.length) entry.questions[lang] = questions;
    if (answer) entry.answer[lang] = answer;
    if (disclosure) entry.disclosure[lang] = disclosure;
  }
  entry.tags = $("e-tags").value.split(/[,，、\s]+/).map((s) => s.trim()).filter(Boolean);
  return entry;
}

function fillForm(entry) {
  $("e-id").value = entry?.id || "";
  $("e-tags").value = (entry?.tags || []).join(", ");
  for (const lang of LANGS) {
    $(`e-q-${lang}`).value = ((entry?.questions || {})[lang] || []).join("\n");
    $(`e-a-${lang}`).value = (entry?.answer || {})[lang] || "";
    $(`e-d-${lang}`).value = (entry?.disclosure || {})[lang] || "";
  }
}

function setEditable(ctx, isNew) {
  const editable = ctx.can("editor");
  for (const node of $("entry-form").querySelectorAll("input, textarea")) node.readOnly = !editable;
  $("e-id").readOnly = !editable || !isNew;
}

function head() {
  return state.versions.find((v) => v.version === state.record?.head_version) || state.record?.head || null;
}

function renderStatus(ctx) {
  const { t, lang } = ctx;
  if (!state.record) {
    replace($("editor-title"), t("new_entry"));
    replace($("editor-status"), t("new_entry_help"));
    return;
  }
  const r = state.record, h = head();
  replace($("editor-title"), t("entry_title", r.id));
  replace($("editor-status"),
    el("span", { class: `badge st-${r.status}`, text: statusName(lang, r.status) }), " ",
    t("status_line", r.head_version, r.served_version, h ? h.author : "", h ? fmtTime(h.created_at, lang) : ""));
}

function renderActions(ctx) {
  const h = head();
  const editor = ctx.can("editor");
  $("e-submit-head").hidden = !(editor && h && h.state === "draft");
  $("e-delete").hidden = !(editor && state.record && state.record.served_version && state.record.status !== "deleted");
}

function versionLabel(ctx, v) {
  return `v${v.version} · ${kindName(ctx.lang, v.kind)} · ${statusName(ctx.lang, v.state)}`;
}

function renderHistory(ctx) {
  const { t, lang } = ctx;
  const section = $("history");
  section.hidden = !state.record;
  if (!state.record) return;
  const served = state.record.served_version;
  const rows = [...state.versions].reverse().map((v) => {
    const canRollback = ctx.can("editor") && v.state === "approved" && v.kind !== "delete" && v.version !== served;
    const action = canRollback ? el("button", { type: "button", class: "small", data: { rollback: v.version },
      attrs: { "aria-label": t("rollback_to", v.version) }, text: t("rollback_to", v.version),
      on: { click: () => rollback(ctx, v.version) } }) : null;
    return el("tr", { data: { version: v.version, state: v.state } },
      el("th", { attrs: { scope: "row" }, text: `v${v.version}${v.version === served ? " ★" : ""}` }),
      el("td", { text: kindName(lang, v.kind) + (v.rollback_of ? ` (← v${v.rollback_of})` : "") }),
      el("td", {}, el("span", { class: `badge st-${v.state}`, text: statusName(lang, v.state) })),
      el("td", { text: v.author }),
      el("td", { text: fmtTime(v.created_at, lang) }),
      el("td", { text: v.reviewer || "" }),
      el("td", { class: "comment", text: v.review_comment || "" }),
      el("td", {}, action));
  });
  replace($("history-table"), table(t("history_caption"),
    [t("col_version"), t("col_kind"), t("col_state"), t("col_author"), t("col_time"), t("col_reviewer"),
      t("col_comment"), t("col_actions")], rows, { id: "history-grid" }));
  const from = $("h-from"), to = $("h-to");
  const key = `${state.id}@${state.versions.length}`;
  const before = from.dataset.key === key ? [from.value, to.value] : [];
  from.dataset.key = key;
  const options = () => state.versions.map((v) => el("option", { value: v.version, text: versionLabel(ctx, v) }));
  replace(from, el("option", { value: "0", text: t("nothing") }), options());
  replace(to, options());
  const last = state.versions.length;
  from.value = before[0] && Number(before[0]) <= last ? before[0] : String(served && served !== last ? served : Math.max(0, last - 1));
  to.value = before[1] && Number(before[1]) <= last ? before[1] : String(last);
}

function showDiff(ctx) {
  const find = (n) => state.versions.find((v) => v.version === Number(n));
  const a = find($("h-from").value), b = find($("h-to").value);
  if (!b) return;
  replace($("h-diff-out"),
    el("h3", { text: ctx.t("diff_between", a ? `v${a.version}` : ctx.t("nothing"), `v${b.version}`) }),
    renderDiff(a ? a.entry : null, b.entry, diffLabels(ctx.lang)));
}

async function load(ctx, id) {
  replace($("e-error"), "");
  replace($("h-diff-out"), "");
  if (!id) {
    state = { id: null, record: null, versions: [] };
    fillForm(null);
  } else {
    const mine = ++started;
    const [record, versions] = await Promise.all([ctx.api.entry(id), ctx.api.history(id)]);
    if (mine !== started) return;  // another entry was opened meanwhile
    state = { id, record, versions };
    fillForm(record.head?.entry || null);
  }
  setEditable(ctx, !id);
  renderStatus(ctx);
  renderActions(ctx);
  renderHistory(ctx);
  $("e-reload").hidden = !id;
  $("view-editor").dataset.loaded = String(++loads);  // lets a test (or a script) wait for fresh data
}

async function guarded(ctx, work) {
  replace($("e-error"), "");
  const buttons = $("entry-form").querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    await work();
  } catch (err) {
    const stale = err.status === 409 && /made on|reload/i.test(ctx.errorText(err));
    replace($("e-error"), ctx.errorText(err) + (stale ? " — " + ctx.t("stale_hint") : ""));
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

function save(ctx, submit) {
  return guarded(ctx, async () => {
    const entry = readForm();
    const made = state.record ? await ctx.api.update(entry, state.record.head_version, submit)
      : await ctx.api.create(entry, submit);
    await after(ctx, made, submit ? "saved_pending" : "saved_draft");
  });
}

async function after(ctx, version, message) {
  const target = `#/entry/${encodeURIComponent(version.entry_id)}`;
  const note = [ctx.t(message, version.version), "ok"];
  if (location.hash !== target) {
    ctx.nextFlash = note;  // shown by the router once it has loaded the new entry
    location.hash = target;
  } else {
    await load(ctx, version.entry_id);
    ctx.flash(...note);
  }
}

function rollback(ctx, to) {
  return guarded(ctx, async () => {
    const made = await ctx.api.rollback(state.id, to, state.record.head_version);
    await load(ctx, state.id);
    ctx.flash(ctx.t("rolled_back", to, made.version), "ok");
  });
}

export const editorView = {
  section: "view-editor",
  mount(ctx) {
    onSubmit("entry-form", () => save(ctx, false), ctx);
    $("e-save-submit").addEventListener("click", () => save(ctx, true));
    $("e-submit-head").addEventListener("click", () => guarded(ctx, async () => {
      const made = await ctx.api.submit(state.id, state.record.head_version);
      await load(ctx, state.id);
      ctx.flash(ctx.t("saved_pending", made.version), "ok");
    }));
    // Deletion is itself a reviewed change, so it needs no extra confirmation here.
    $("e-delete").addEventListener("click", () => guarded(ctx, async () => {
      const made = await ctx.api.requestDelete(state.id, state.record.head_version);
      await load(ctx, state.id);
      ctx.flash(ctx.t("delete_requested", made.version), "ok");
    }));
    $("e-reload").addEventListener("click", () => guarded(ctx, () => load(ctx, state.id)));
    onSubmit("history-compare", () => showDiff(ctx), ctx);
  },
  show: load,
  relabel(ctx) {
    renderStatus(ctx);
    renderHistory(ctx);
    if ($("h-diff-out").firstChild) showDiff(ctx);
  },
};
