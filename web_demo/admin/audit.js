// The audit log (reviewers and admins) and the hash-chain check (admins). Details are shown as
// JSON text: they can hold entry bodies and customers' questions, which are never markup.

import { $, el, fmtTime, onSubmit, replace, table } from "./dom.js";

let last = null;

function short(hash) {
  return hash ? `${hash.slice(0, 12)}…` : "";
}

function render(ctx) {
  if (!last) return;
  const { t, lang } = ctx;
  const rows = last.map((r) => el("tr", { data: { seq: r.seq, action: r.action } },
    el("td", { class: "num", text: r.seq }),
    el("td", { text: fmtTime(r.ts, lang), attrs: { title: r.ts } }),
    el("td", { text: r.actor }),
    el("td", {}, el("code", { text: r.action })),
    el("td", { text: r.subject }),
    el("td", {}, el("details", {}, el("summary", { text: t("show") }),
      // A served answer's question sits beside the chain (r.texts; "[purged]" once expired).
      el("pre", { class: "json", text: JSON.stringify(
        r.texts && Object.keys(r.texts).length ? { ...r.details, ...r.texts } : r.details, null, 2) }))),
    el("td", {}, el("code", { text: short(r.hash), attrs: { title: r.hash } }))));
  replace($("audit-table"), table(t("audit_caption", last.length),
    [t("col_seq"), t("col_time"), t("col_actor"), t("col_action"), t("col_subject"), t("col_details"), t("col_hash")],
    rows, { id: "audit-grid" }));
}

async function load(ctx) {
  if (!ctx.can("reviewer")) {
    replace($("audit-table"), el("p", { class: "note", text: ctx.t("needs_reviewer") }));
    return;
  }
  replace($("audit-table"), el("p", { class: "muted", text: ctx.t("loading") }));
  last = await ctx.api.audit({
    actor: $("audit-actor").value.trim(), action: $("audit-action").value.trim(),
    subject: $("audit-subject").value.trim(), newest_first: $("audit-newest").checked, limit: 200,
  });
  render(ctx);
}

async function verify(ctx) {
  const out = $("audit-verify-out");
  replace(out, ctx.t("loading"));
  try {
    const report = await ctx.api.verify();
    out.dataset.ok = String(report.ok);
    replace(out, report.ok ? ctx.t("chain_ok", report.records, report.head_hash)
      : ctx.t("chain_broken", report.broken_seq, report.reason));
  } catch (err) {
    out.dataset.ok = "";
    replace(out, ctx.errorText(err));
  }
}

export const auditView = {
  section: "view-audit",
  mount(ctx) {
    onSubmit("audit-form", () => load(ctx), ctx);
    $("audit-verify").addEventListener("click", () => verify(ctx));
  },
  show: load,
  relabel: render,
};
