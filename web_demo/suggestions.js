// Buttons for entries' questions under the answer: the suggested follow-ups
// (`response.created.related`; a click asks the question) and the options of a clarifying question
// (`response.created.clarify`; a click chooses the option). The questions come from the knowledge
// base through the server, so they are set with textContent like every other server text.

const MAX_SHOWN = 3;

export class Suggestions {
  constructor({ box, list, onPick }) {
    this.box = box;
    this.list = list;
    this.onPick = onPick;
  }

  /** Show entries' questions ([{id, question}]) as buttons; `onPick(question, item)` on a click; hide the box when none. */
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
      button.addEventListener("click", () => this.onPick(item.question, item));
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
