// The entry list: server-side search (substring), status and tag; the language filter runs here,
// on the head versions already fetched, since it only asks which languages an entry covers.

import { $, el, fmtTime, onSubmit, replace, table } from "./dom.js";
import { statusName } from "./i18n.js";

let rows = [];
let knownTags = new Set();
let loads = 0;

function covers(entry, lang) {
  return Boolean((entry.answer || {})[lang] || ((entry.questions || {})[lang] || []).length);
}

function byLanguage(filter) {
  if (!filter) return () => true;
  const [neg, lang] = filter.startsWith("no-") ? [true, filter.slice(3)] : [false, filter];
  return (row) => covers(row.head?.entry || {}, lang) !== neg;
}

function canonical(entry, lang) {
  return ((entry.questions || {})[lang] || [])[0] || "";
}

function render(ctx) {
  const { t, lang } = ctx;
  const visible = rows.filter(byLanguage($("f-lang").value));
  replace($("entries-count"), t("entries_count", visible.length));
  const body = visible.map((row) => {
    const entry = row.head?.entry || {};
    const open = el("a", { href: `#/entry/${encodeURIComponent(row.id)}`, class: "button small",
      attrs: { "aria-label": `${ctx.can("editor") ? t("edit") : t("view")} ${row.id}` },
      text: ctx.can("editor") ? t("edit") : t("view") });
    return el("tr", { data: { id: row.id, status: row.status } },
      el("th", { attrs: { scope: "row" } }, el("code", { text: row.id })),
      el("td", { attrs: { lang: "zh-CN" }, text: canonical(entry, "zh") }),
      el("td", { attrs: { lang: "en" }, text: canonical(entry, "en") }),
      el("td", {}, el("span", { class: `badge st-${row.status}`, text: statusName(lang, row.status) })),
      el("td", { class: "num", text: `v${row.head_version}` }),
      el("td", { class: "num", text: row.served_version ? `v${row.served_version}` : "—" }),
      el("td", { text: (entry.tags || []).join(", ") }),
      el("td", { text: fmtTime(row.updated_at, lang) }),
      el("td", {}, open));
  });
  replace($("entries-table"), table(t("entries_caption"),
    [t("col_id"), t("col_q_zh"), t("col_q_en"), t("col_status"), t("col_head"), t("col_served"),
      t("col_tags"), t("col_updated"), t("col_actions")], body, { id: "entries-grid" }));
}

function refreshTagOptions(ctx) {
  const select = $("f-tag");
  const chosen = select.value;
  for (const row of rows) for (const tag of row.head?.entry?.tags || []) knownTags.add(tag);
  const options = [...knownTags].sort().map((tag) => el("option", { value: tag, text: tag }));
  replace(select, el("option", { value: "", data: { i18n: "any" }, text: ctx.t("any") }), options);
  select.value = knownTags.has(chosen) ? chosen : "";
}

async function load(ctx) {
  const mine = ++loads;
  replace($("entries-count"), ctx.t("loading"));
  const found = await ctx.api.listEntries({ q: $("f-q").value.trim(), status: $("f-status").value, tag: $("f-tag").value });
  if (mine !== loads) return;  // filters changed again meanwhile: a newer load will render
  rows = found;
  refreshTagOptions(ctx);
  render(ctx);
}

export const entriesView = {
  section: "view-entries",
  mount(ctx) {
    onSubmit("entry-filters", () => load(ctx), ctx);
    for (const id of ["f-status", "f-tag"]) {
      $(id).addEventListener("change", () => load(ctx).catch((err) => ctx.flash(ctx.errorText(err), "error")));
    }
    $("f-lang").addEventListener("change", () => render(ctx));
  },
  show: load,
  relabel(ctx) { render(ctx); },
};
