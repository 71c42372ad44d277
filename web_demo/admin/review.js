// The review queue: each pending change beside what customers are served now, approve or reject
// with a comment. The author of a change is never offered its approval (the server refuses it
// too: maker-checker).

import { $, el, fmtTime, replace } from "./dom.js";
import { renderDiff } from "./diff.js";
import { diffLabels, kindName } from "./i18n.js";

let seq = 0;
let loads = 0;  // only the newest load may render: a quick second Refresh must not be overwritten

async function servedOf(ctx, entryId) {
  const [record, versions] = await Promise.all([ctx.api.entry(entryId), ctx.api.history(entryId)]);
  const served = versions.find((v) => v.version === record.served_version) || null;
  return { record, served };
}

function meta(ctx, change) {
  const { t, lang } = ctx;
  return el("p", { class: "muted" },
    t("change_meta", change.author, fmtTime(change.created_at, lang), change.base_version || 0));
}

function reviewControls(ctx, change, reload) {
  const { t } = ctx;
  const id = `rv-${++seq}`;
  const own = change.author === ctx.me().name;
  if (!ctx.can("reviewer")) {
    return el("p", { class: own ? "note own-change" : "note", text: t(own ? "own_change" : "needs_reviewer") });
  }
  const comment = el("textarea", { id: `${id}-comment`, class: "review-comment", rows: 2, maxLength: 2000 });
  const error = el("p", { class: "error", attrs: { role: "alert" } });
  const decide = async (verdict) => {
    replace(error, "");
    if (verdict === "reject" && !comment.value.trim()) {
      replace(error, t("reject_needs_comment"));
      comment.focus();
      return;
    }
    try {
      await ctx.api.review(change.entry_id, change.version, verdict, comment.value.trim());
      ctx.flash(t(verdict === "approve" ? "approved_msg" : "rejected_msg", change.entry_id, change.version), "ok");
      await reload();
    } catch (err) {
      replace(error, ctx.errorText(err));
    }
  };
  const note = own ? el("p", { id: `${id}-own`, class: "note own-change", text: t("own_change") }) : null;
  const approve = el("button", { type: "button", class: "primary approve", disabled: own,
    attrs: { "aria-describedby": own ? `${id}-own` : null }, text: t("approve"),
    on: { click: () => decide("approve") } });
  const reject = el("button", { type: "button", class: "danger reject", disabled: own, text: t("reject"),
    attrs: { "aria-describedby": own ? `${id}-own` : null }, on: { click: () => decide("reject") } });
  return el("div", { class: "review-controls" },
    note,
    el("label", { attrs: { for: comment.id }, text: t("review_comment") }), comment,
    el("div", { class: "actions" }, approve, reject), error);
}

async function pendingItem(ctx, change, reload) {
  const { t, lang } = ctx;
  const { served } = await servedOf(ctx, change.entry_id);
  const heading = el("h3", {},
    el("a", { href: `#/entry/${encodeURIComponent(change.entry_id)}` }, el("code", { text: change.entry_id })),
    ` · v${change.version} · ${kindName(lang, change.kind)}`);
  const banner = change.kind === "delete" ? el("p", { class: "warn", text: t("delete_banner") })
    : change.kind === "rollback" ? el("p", { class: "note", text: t("rollback_banner", change.rollback_of) }) : null;
  const compared = el("p", { class: "small muted",
    text: served ? t("diff_vs_served", change.version, served.version) : t("diff_vs_nothing", change.version) });
  return el("article", { class: "card review-item",
    data: { entry: change.entry_id, version: change.version, author: change.author } },
  heading, meta(ctx, change), banner, compared,
  renderDiff(served ? served.entry : null, change.kind === "delete" ? {} : change.entry, diffLabels(lang)),
  reviewControls(ctx, change, reload));
}

function draftItem(ctx, change, reload) {
  const { t, lang } = ctx;
  const submit = ctx.can("editor") ? el("button", { type: "button", class: "small", text: t("submit_draft"),
    on: { click: async () => {
      try {
        await ctx.api.submit(change.entry_id, change.version);
        await reload();
      } catch (err) { ctx.flash(ctx.errorText(err), "error"); }
    } } }) : null;
  return el("li", { class: "draft-item", data: { entry: change.entry_id, version: change.version } },
    el("a", { href: `#/entry/${encodeURIComponent(change.entry_id)}` }, el("code", { text: change.entry_id })),
    ` v${change.version} · ${kindName(lang, change.kind)} · ${change.author} · ${fmtTime(change.created_at, lang)} `,
    submit);
}

async function load(ctx) {
  const reload = () => load(ctx);
  const list = $("review-list"), drafts = $("drafts-list");
  const mine = ++loads;
  replace(list, el("p", { class: "muted", text: ctx.t("loading") }));
  const open = await ctx.api.drafts();
  const pending = open.filter((v) => v.state === "pending");
  const items = await Promise.all(pending.map((v) => pendingItem(ctx, v, reload)));
  if (mine !== loads) return;
  replace(list, items.length ? items : el("p", { class: "muted empty", text: ctx.t("queue_empty") }));
  const draftRows = open.filter((v) => v.state === "draft").map((v) => draftItem(ctx, v, reload));
  replace(drafts, draftRows.length ? el("ul", { class: "plain" }, draftRows)
    : el("p", { class: "muted", text: ctx.t("no_drafts") }));
  list.dataset.loaded = String(mine);
}

export const reviewView = {
  section: "view-review",
  mount(ctx) {
    $("review-refresh").addEventListener("click", () => load(ctx).catch((err) => ctx.flash(ctx.errorText(err), "error")));
  },
  show: load,
  relabel(ctx) { load(ctx).catch((err) => ctx.flash(ctx.errorText(err), "error")); },
};
