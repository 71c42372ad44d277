// "Test a question" (what the live index would find, with scores) and the knowledge-gaps report.

import { $, el, fmtNumber, fmtTime, onSubmit, replace, table } from "./dom.js";

let lastTest = null;
let lastGaps = null;

function meter(value, label) {
  const pct = Math.max(0, Math.min(1, value)) * 100;
  const fill = el("span", { class: "meter-fill" });
  // Through the CSSOM, not a style attribute: the console's CSP (style-src 'self') blocks inline styles.
  fill.style.width = `${pct.toFixed(1)}%`;
  return el("span", { class: "meter", attrs: { role: "img", "aria-label": `${label} ${fmtNumber(value)}` } }, fill);
}

function renderTest(ctx) {
  if (!lastTest) return;
  const { t } = ctx;
  const out = lastTest;
  const rows = out.candidates.map((c, i) => el("tr", { data: { entry: c.entry_id }, class: c.would_answer ? "chosen" : "" },
    el("td", { class: "num", text: i + 1 }),
    el("th", { attrs: { scope: "row" } }, el("a", { href: `#/entry/${encodeURIComponent(c.entry_id)}` },
      el("code", { text: c.entry_id }))),
    el("td", { class: "num", text: `v${c.version}` }),
    el("td", { class: "num score", text: fmtNumber(c.score) }),
    el("td", { class: "num confidence" }, meter(c.confidence, t("col_confidence")), " ", fmtNumber(c.confidence)),
    el("td", { class: "matched", text: c.matched }),
    el("td", { text: c.would_answer ? t("yes") : t("no") })));
  replace($("test-result"),
    el("p", { class: "muted", text: t("test_summary", out.searched_as, fmtNumber(out.threshold, 2)) }),
    // What the threshold means on this knowledge base (self-calibration's forecast), when it has one.
    el("p", { class: "muted", id: "operating-point", text: out.operating_point
      ? t("operating_point", percent(out.operating_point.answered), percent(out.operating_point.expected_wrong),
        percent(out.operating_point.target), out.operating_point.questions,
        out.operating_point.clarified == null ? null : percent(out.operating_point.clarified))
      : t("operating_point_offline") }),
    out.candidates.some((c) => c.would_answer) ? null : el("p", { class: "warn", text: t("test_handoff") }),
    table(t("test_caption"), [t("col_rank"), t("col_id"), t("col_version"), t("col_score"), t("col_confidence"),
      t("col_matched"), t("col_would_answer")], rows, { id: "test-grid" }));
}

function percent(x) { return `${(100 * x).toFixed(1)} %`; }

async function runTest(ctx) {
  const question = $("test-q").value.trim();
  if (!question) { $("test-q").focus(); return; }
  const k = Math.max(1, Math.min(20, Number($("test-k").value) || 5));
  replace($("test-result"), el("p", { class: "muted", text: ctx.t("loading") }));
  try {
    lastTest = await ctx.api.test(question, k);
    renderTest(ctx);
  } catch (err) {
    replace($("test-result"), el("p", { class: "error", attrs: { role: "alert" }, text: ctx.errorText(err) }));
  }
}

function renderGaps(ctx) {
  if (!lastGaps) return;
  const { t, lang } = ctx;
  const report = lastGaps;
  $("gaps-threshold").value = String(report.threshold);
  const questions = report.questions.map((g) => el("tr", {},
    el("th", { attrs: { scope: "row" }, class: "question", text: g.example }),
    el("td", { class: "num", text: g.asked }),
    el("td", { class: "num", text: g.handoffs }),
    el("td", { class: "num", text: g.low_confidence }),
    el("td", { class: "num", text: g.not_helpful }),
    el("td", { class: "num", text: g.clarified || 0 }),
    el("td", { class: "offered", text: Object.entries(g.offered || {}).map(([id, n]) => `${id} ×${n}`).join(", ") }),
    el("td", { text: Object.entries(g.candidates || {}).map(([id, n]) => `${id} ×${n}`).join(", ") }),
    el("td", { text: fmtTime(g.last_seen, lang) }),
    el("td", {}, el("button", { type: "button", class: "small", text: t("test_this"),
      on: { click: () => { $("test-q").value = g.example; ctx.go("#/test"); setTimeout(() => runTest(ctx), 0); } } }))));
  const entries = report.entries.map((e) => el("tr", {},
    el("th", { attrs: { scope: "row" } }, el("a", { href: `#/entry/${encodeURIComponent(e.entry_id)}` },
      el("code", { text: e.entry_id }))),
    el("td", { class: "num", text: e.helpful }),
    el("td", { class: "num", text: e.not_helpful })));
  replace($("gaps-out"),
    table(t("gaps_questions"), [t("col_question"), t("col_asked"), t("col_handoffs"), t("col_low"),
      t("col_not_helpful"), t("col_clarified"), t("col_offered"), t("col_best_guess"), t("col_last_seen"), t("col_actions")],
    questions.length ? questions : el("tr", {}, el("td", { attrs: { colspan: 10 }, class: "muted", text: t("nothing_yet") })),
    { id: "gaps-questions" }),
    table(t("gaps_entries"), [t("col_id"), t("col_helpful"), t("col_not_helpful")],
      entries.length ? entries : el("tr", {}, el("td", { attrs: { colspan: 3 }, class: "muted", text: t("nothing_yet") })),
      { id: "gaps-entries" }));
}

async function loadGaps(ctx) {
  const threshold = $("gaps-threshold").value;
  const since = $("gaps-since").value;
  replace($("gaps-out"), el("p", { class: "muted", text: ctx.t("loading") }));
  lastGaps = await ctx.api.gaps({ threshold, since: since ? `${since}T00:00:00` : "" });
  renderGaps(ctx);
}

export const testView = {
  section: "view-test",
  mount(ctx) {
    onSubmit("test-form", () => runTest(ctx), ctx);
  },
  show() { $("test-q").focus(); },
  relabel: renderTest,
};

export const gapsView = {
  section: "view-gaps",
  mount(ctx) {
    onSubmit("gaps-form", () => loadGaps(ctx), ctx);
  },
  show: loadGaps,
  relabel: renderGaps,
};
