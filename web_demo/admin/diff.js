// Differences between two versions of an entry, field by field, shown as inline insertions and
// deletions. Chinese is diffed per character (it has no spaces), other text per word.

import { el } from "./dom.js";

const LANGS = ["zh", "en"];
const TOKEN = /[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]|\s+|[^\s\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+/gu;
const MAX_CELLS = 2_000_000; // beyond this the middle is shown as one replacement, to stay instant

/** The comparable fields of an entry as text (questions one per line). */
export function fields(entry) {
  const out = {};
  for (const lang of LANGS) {
    out[`questions.${lang}`] = ((entry?.questions || {})[lang] || []).join("\n");
    out[`answer.${lang}`] = (entry?.answer || {})[lang] || "";
    out[`disclosure.${lang}`] = (entry?.disclosure || {})[lang] || "";
  }
  out.tags = (entry?.tags || []).join(", ");
  return out;
}

/** [["eq"|"del"|"ins", text], ...] turning `a` into `b`. */
export function diffText(a, b) {
  const x = a.match(TOKEN) || [];
  const y = b.match(TOKEN) || [];
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let endX = x.length, endY = y.length;
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) { endX--; endY--; }
  const ops = [];
  if (start) ops.push(["eq", x.slice(0, start).join("")]);
  ops.push(...middle(x.slice(start, endX), y.slice(start, endY)));
  if (endX < x.length) ops.push(["eq", x.slice(endX).join("")]);
  return tidy(merge(ops));
}

function middle(x, y) {
  const n = x.length, m = y.length;
  if (!n || !m || n * m > MAX_CELLS) return [["del", x.join("")], ["ins", y.join("")]];
  // Longest common subsequence lengths of the suffixes, then one walk from the front.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1
        : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const ops = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { ops.push(["eq", x[i]]); i++; j++; }
    else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) ops.push(["del", x[i++]]);
    else ops.push(["ins", y[j++]]);
  }
  while (i < n) ops.push(["del", x[i++]]);
  while (j < m) ops.push(["ins", y[j++]]);
  return ops;
}

function merge(ops) {
  const out = [];
  for (const [kind, text] of ops) {
    if (!text) continue;
    const last = out[out.length - 1];
    if (last && last[0] === kind) last[1] += text;
    else out.push([kind, text]);
  }
  return out;
}

// Word-by-word alternation ("are→can not→be") is hard to read: a space between two changes joins
// them, and each changed stretch becomes one deletion followed by one insertion.
function tidy(ops) {
  const out = [];
  let del = "", ins = "";
  const flush = () => {
    if (del) out.push(["del", del]);
    if (ins) out.push(["ins", ins]);
    del = ins = "";
  };
  ops.forEach(([kind, text], k) => {
    if (kind === "del") del += text;
    else if (kind === "ins") ins += text;
    else if ((del || ins) && k + 1 < ops.length && /^\s+$/.test(text)) { del += text; ins += text; }
    else { flush(); out.push([kind, text]); }
  });
  flush();
  return out;
}

/**
 * A <div class="diff"> comparing `before` (null: nothing yet) with `after`; `labels` gives the
 * UI words {field: (name) => label, unchanged: (n) => text, none: text, removed, added}.
 */
export function renderDiff(before, after, labels) {
  const a = fields(before), b = fields(after);
  const changed = Object.keys(b).filter((k) => a[k] !== b[k]);
  const box = el("div", { class: "diff" });
  if (!changed.length) {
    box.append(el("p", { class: "muted", text: labels.none }));
    return box;
  }
  const list = el("dl", { class: "diff-fields" });
  for (const key of changed) {
    const [name, lang] = key.split(".");
    const body = el("dd", { class: "diff-text", attrs: lang ? { lang: lang === "zh" ? "zh-CN" : "en" } : {} });
    for (const [kind, text] of diffText(a[key], b[key])) {
      if (kind === "eq") body.append(el("span", { text }));
      else body.append(el(kind, { attrs: { title: kind === "del" ? labels.removed : labels.added } }, text));
    }
    list.append(el("dt", { text: labels.field(name, lang) }), body);
  }
  box.append(list);
  const same = Object.keys(b).length - changed.length;
  if (same) box.append(el("p", { class: "muted small", text: labels.unchanged(same) }));
  return box;
}
