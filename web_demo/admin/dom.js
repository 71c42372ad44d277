// Small DOM helpers. Knowledge content is untrusted (anyone with the editor role, or an imported
// file, can write it), so every string goes into the page as a text node or an attribute value;
// nothing here ever parses a string as HTML.

/**
 * el("td", {class: "num", data: {id}, attrs: {"aria-label": x}, on: {click: f}}, "text", child)
 * Strings and numbers among the children become text nodes; null/undefined/false are skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "data") Object.entries(value).forEach(([k, v]) => { if (v != null) node.dataset[k] = String(v); });
    else if (key === "attrs") Object.entries(value).forEach(([k, v]) => { if (v != null && v !== false) node.setAttribute(k, String(v)); });
    else if (key === "on") Object.entries(value).forEach(([k, f]) => node.addEventListener(k, f));
    else if (key in node && typeof value !== "object") node[key] = value;
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function replace(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

export const $ = (id) => document.getElementById(id);

/** The form's submit runs `action` instead of navigating; a failure it does not handle is flashed. */
export function onSubmit(id, action, ctx) {
  $(id).addEventListener("submit", (event) => {
    event.preventDefault();
    Promise.resolve(action()).catch((err) => ctx.flash(ctx.errorText(err), "error"));
  });
}

export function fmtTime(value, lang) {
  if (value === null || value === undefined || value === "") return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { dateStyle: "short", timeStyle: "medium" });
}

export function fmtNumber(value, digits = 3) {
  return typeof value === "number" ? value.toFixed(digits) : String(value ?? "");
}

/** A table with a caption, header cells and rows of cells (each cell a node or text). */
export function table(caption, headers, rows, props = {}) {
  return el("table", { class: "grid", ...props },
    caption ? el("caption", { text: caption }) : null,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { attrs: { scope: "col" }, text: h })))),
    el("tbody", {}, rows));
}

/** Save text as a file through a temporary object URL (the export needs the bearer header). */
export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = el("a", { attrs: { href: url, download: filename }, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
