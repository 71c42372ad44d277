// Keeping the conversation through a dropped connection (docs/protocol.md, "Resuming a session").
//
// `Resumer` remembers what the server gave to take the session back (its id, the resume token,
// the window) and, when the connection drops, where the answer in progress stopped; the next
// connection then opens as `?resume=<id>` and its first event is `session.resume`. The token lives
// only in this object's memory: never in the URL, storage or the console.
//
// `Heartbeat` notices a connection that died without a close (a phone changing networks): while
// the customer is engaged it pings after a quiet spell, and with no reply in time it closes the
// socket with 4000, which the server treats as a drop to resume. An idle page does not ping, so
// the server's idle timeout still frees the place of a customer who walked away.

export class Resumer {
  constructor() {
    this.sessionId = null;
    this.token = null;
    this.windowMs = 0;
    this.deadline = 0;       // performance.now() until which the dropped session is kept
    this.point = null;       // {response_id, heard_ms}: where the answer stopped
    this.refused = false;    // the last try was refused: a new session follows
  }

  /** `session.created` or `session.resumed`: the token to use next time (the old one is spent). */
  note(ev) {
    this.sessionId = typeof ev.session_id === "string" ? ev.session_id : null;
    this.token = typeof ev.resume_token === "string" ? ev.resume_token : null;
    this.windowMs = Math.max(0, Number(ev.resume_window_s) || 0) * 1000;
    this.deadline = 0;
  }

  /** The connection dropped: remember where the answer stopped (before the player is stopped). */
  lost(player) {
    // Once per drop: a failed reconnect closes too, and by then the stopped player's clock has
    // run on past what was heard.
    if (!this.token || !this.windowMs || this.deadline) return;
    this.deadline = performance.now() + this.windowMs;
    const r = player.resp;
    // heard_ms null: that response's response.done arrived, nothing of it is missing.
    this.point = { response_id: r ? r.id : null, heard_ms: r && !r.done ? player.heardMs() : null };
  }

  /** True while a dropped session may still be taken back. */
  canResume() {
    return !!(this.token && this.deadline && performance.now() < this.deadline);
  }

  url(base) {
    return `${base}?resume=${encodeURIComponent(this.sessionId)}`;
  }

  firstEvent() {
    const point = this.point || { response_id: null, heard_ms: null };
    return { type: "session.resume", session_id: this.sessionId, resume_token: this.token,
      response_id: point.response_id, heard_ms: point.heard_ms };
  }

  /** `resume_refused`: the session is gone; the next connection starts a new one. */
  forget() {
    this.token = null;
    this.deadline = 0;
    this.refused = true;
  }
}

export class Heartbeat {
  constructor({ engaged, onDead, everyMs = 15000, graceMs = 10000 }) {
    this.engaged = engaged;   // () => true while the customer talks or waits for an answer
    this.onDead = onDead;     // (ws) => the page treats the socket as dropped at once
    this.everyMs = everyMs;
    this.graceMs = graceMs;
    this.ws = null;
    this.timer = null;
  }

  start(ws) {
    this.stop();
    this.ws = ws;
    this.last = performance.now();
    this.pinged = null;
    this.timer = setInterval(() => this.check(), 1000);
  }

  /** Any event from the server: the connection is alive. */
  seen() {
    this.last = performance.now();
    this.pinged = null;
  }

  check() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    if (this.pinged !== null && now - this.pinged > this.graceMs) {
      this.stop();
      // A dead link may take a browser a minute to close: the page moves on now, and 4000 tells a
      // server that does hear it that this is a drop to resume, not an end.
      this.onDead(ws);
      ws.close(4000, "heartbeat lost");
    } else if (this.pinged === null && now - this.last > this.everyMs && this.engaged()) {
      ws.send(JSON.stringify({ type: "ping", id: "heartbeat" }));
      this.pinged = now;
    }
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }
}
