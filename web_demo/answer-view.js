// The answer panel of the customer page: the answer's text, its mandatory disclosure, the entry it
// cites, the hand-off notice, and empty captions for the speech to come. Server text is only
// ever shown with textContent.

/** Show `response.created`'s answer; returns its language ("zh" or "en"). */
export function showAnswer(ui, ev, setText) {
  const lang = ev.language === "en" ? "en" : "zh";
  ui.answer.textContent = String(ev.text || "");
  ui.answer.lang = lang === "zh" ? "zh-CN" : "en";
  if (ev.disclosure) {
    ui.disclosure.textContent = String(ev.disclosure);
    ui.disclosure.lang = ui.answer.lang;
    ui.disclosure.hidden = false;
  } else {
    ui.disclosure.textContent = "";
    ui.disclosure.hidden = true;
  }
  if (ev.entry_id) {
    ui.source.textContent = String(ev.entry_id);
    ui.source.removeAttribute("data-i18n");
    ui.source.dataset.entry = String(ev.entry_id);
  } else {
    setText(ui.source, "source_none");
    ui.source.dataset.entry = "";
  }
  ui.textOnly.hidden = true;
  ui.handoff.hidden = !ev.handoff;
  document.body.classList.toggle("handoff-active", !!ev.handoff);
  ui.caption.textContent = "";
  ui.caption.lang = ui.answer.lang;
  return lang;
}
