// "Helpful / not helpful" on the last answer: POST /v1/feedback, then say whether it was recorded.

export class Feedback {
  constructor({ yes, no, status, current, say }) {
    this.yes = yes;
    this.no = no;
    this.status = status;
    this.current = current;   // () => {response_id, entry_id, question} of the answer shown, or null
    this.say = say;           // (element, i18n key): sets a UI string on an element
    yes.addEventListener("click", () => this.send(true, yes));
    no.addEventListener("click", () => this.send(false, no));
  }

  reset(enabled) {
    for (const b of [this.yes, this.no]) {
      b.disabled = !enabled;
      b.setAttribute("aria-pressed", "false");
    }
    this.status.textContent = "";
  }

  async send(helpful, button) {
    const r = this.current();
    if (!r) return;
    this.yes.disabled = this.no.disabled = true;
    button.setAttribute("aria-pressed", "true");
    let ok = false;
    try {
      const res = await fetch("/v1/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ response_id: r.response_id, entry_id: r.entry_id,
          question: (r.question || "").slice(0, 500) || null, helpful }),
      });
      ok = res.ok;
    } catch (_) {
      ok = false;
    }
    this.status.dataset.result = ok ? "recorded" : "failed";
    this.say(this.status, ok ? "fb_thanks" : "fb_failed");
  }
}
