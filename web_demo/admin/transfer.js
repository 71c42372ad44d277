// Import (a JSONL or CSV file, validated whole by the server: one bad row and nothing is written)
// and export of the served entries.

import { $, download, el, onSubmit, replace } from "./dom.js";

function formatOf(name, chosen) {
  if (chosen !== "auto") return chosen;
  return /\.csv$/i.test(name) ? "csv" : "jsonl";
}

function showRows(ctx, errors) {
  const { t } = ctx;
  return el("div", { class: "import-errors" },
    el("p", { class: "error", text: t("import_failed", errors.length) }),
    el("ul", { id: "import-error-list" }, errors.map((e) => el("li", { data: { line: e.line } },
      t("row_error", e.line, e.entry_id || "", e.field, e.reason)))));
}

async function runImport(ctx) {
  const { t } = ctx;
  const file = $("import-file").files[0];
  replace($("import-result"), "");
  replace($("import-errors"), "");
  if (!file) { replace($("import-errors"), el("p", { class: "error", text: t("import_pick") })); return; }
  const button = $("import-button");
  button.disabled = true;
  replace($("import-result"), t("importing"));
  try {
    const content = await file.text();
    const format = formatOf(file.name, $("import-format").value);
    const out = await ctx.api.importText(format, content, $("import-approve").checked, file.name);
    replace($("import-result"), el("p", { class: "ok", text: t("import_done", out.created.length, out.updated.length,
      out.unchanged.length, out.approved) }),
    out.created.length || out.updated.length ? el("p", { class: "small", text: [...out.created, ...out.updated].join(", ") }) : null);
  } catch (err) {
    replace($("import-result"), "");
    const rows = err.detail && Array.isArray(err.detail.errors) ? err.detail.errors : null;
    replace($("import-errors"), rows ? showRows(ctx, rows) : el("p", { class: "error", text: ctx.errorText(err) }));
  } finally {
    button.disabled = false;
  }
}

async function runExport(ctx, format) {
  const status = $("export-status");
  replace(status, ctx.t("loading"));
  try {
    const text = await ctx.api.exportText(format);
    const type = format === "csv" ? "text/csv;charset=utf-8" : "application/x-ndjson;charset=utf-8";
    const stamp = new Date().toISOString().slice(0, 10);
    download(`knowledge-${stamp}.${format}`, text, type);
    const count = format === "csv" ? null : text.split("\n").filter(Boolean).length;
    replace(status, ctx.t("export_done", format.toUpperCase(), count));
  } catch (err) {
    replace(status, ctx.errorText(err));
  }
}

export const transferView = {
  section: "view-transfer",
  mount(ctx) {
    onSubmit("import-form", () => runImport(ctx), ctx);
    $("export-jsonl").addEventListener("click", () => runExport(ctx, "jsonl"));
    $("export-csv").addEventListener("click", () => runExport(ctx, "csv"));
  },
  show() {},
};
