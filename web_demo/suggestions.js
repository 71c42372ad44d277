// Suggested follow-up questions (`response.created.related`): one button per question; a click asks
// it as a typed question. The questions come from the knowledge base through the server, so they
// are set with textContent like every other server text.

const MAX_SHOWN = 3;

export class Suggestions {
  constructor({ box, list, onPick }) {
    this.box = box;
    this.list = list;
    this.onPick = onPick;
  }

  /** Show the follow-ups of an answer (`related`: [{id, question}]), or hide the box when none. */
  show(related, lang) {
    this.clear();
    const items = Array.isArray(related) ? related.filter((r) => r && typeof r.question === "string" && r.question.trim()) : [];
    for (const item of items.slice(0, MAX_SHOWN)) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "suggestion";
      button.textContent = item.question;
      button.lang = lang === "zh" ? "zh-CN" : "en";
      button.dataset.entry = String(item.id ?? "");
      button.addEventListener("click", () => this.onPick(item.question));
      li.appendChild(button);
      this.list.appendChild(li);
    }
    this.box.hidden = this.list.childElementCount === 0;
  }

  clear() {
    this.list.replaceChildren();
    this.box.hidden = true;
  }
}
