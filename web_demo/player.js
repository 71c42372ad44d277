// Answer playback and lip-sync, both on one clock: AudioContext.currentTime.
//
// Each response gets a time base `base` (in context seconds) such that a sample at `offset_ms` of the
// response's audio plays at `base + offset_ms / 1000`. Every `response.audio.delta` chunk becomes an
// AudioBufferSourceNode started at exactly that time (so chunks play back to back), and each viseme
// of the chunk becomes a cue [base + vtime, base + vtime + vduration). A frame loop reads
// currentTime and shows the cue under it, so the mouth follows the audio actually playing, not
// the network. A chunk that arrives too late for its slot pushes the base (and every later cue)
// back by the shortfall: audio and mouth stay together. Barge-in stops the scheduled sources and
// drops their cues; `heardMs()` says how much of the answer was played.

const LEAD_S = 0.06;    // first chunk starts this long after it arrives
const MIN_AHEAD_S = 0.015;

function decodePcm16(b64) {
  const bin = atob(b64);
  const n = bin.length >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
    if (v >= 0x8000) v -= 0x10000;
    out[i] = v / 32768;
  }
  return out;
}

export class Player {
  constructor({ avatar, onWord, onStateChange } = {}) {
    this.avatar = avatar;
    this.onWord = onWord || (() => {});
    this.onStateChange = onStateChange || (() => {});
    this.ctx = null;
    this.resp = null;          // the response being played
    this.sources = new Set();  // {node, interruptible}
    this.cues = [];            // viseme cues {t0, t1, name, interruptible}, in time order
    this.words = [];           // caption cues {t, text, interruptible}
    this.speaking = false;
    this.stats = { chunks: 0, stopped: 0, visemesShown: new Set(), lastHeardMs: null, late: 0,
      responses: [], lastVoiceSentAt: null };
    this._raf = this._raf.bind(this);
    requestAnimationFrame(this._raf);
    // Timers keep running where animation frames are throttled (a background tab).
    this._timer = setInterval(() => { if (performance.now() - this._lastTick > 100) this.tick(); }, 50);
    this._lastTick = 0;
  }

  /** The shared AudioContext (created on first use, resumed if the browser suspended it). */
  context() {
    if (!this.ctx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      this.ctx = new Ctx({ latencyHint: "interactive" });
    }
    if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
    return this.ctx;
  }

  /**
   * `response.created`: a new answer. The previous one's interruptible audio stops; a mandatory
   * disclosure still playing is allowed to finish, and the new answer starts after it.
   */
  begin(created) {
    const ctx = this.context();
    let notBefore = 0;
    if (this.resp) {
      this.cutInterruptible();
      for (const entry of this.sources) notBefore = Math.max(notBefore, entry.end);
    }
    this.resp = {
      id: created.response_id,
      language: created.language,
      sampleRate: created.sample_rate,
      base: null,
      notBefore: Math.max(notBefore, ctx.currentTime),
      endTime: 0,        // context time when the last scheduled chunk ends
      endMs: 0,          // response ms where the last scheduled chunk ends
      cut: false,        // barge-in happened: only non-interruptible chunks still play
      done: false,
    };
    // When each answer arrived and when its first sample plays, in performance.now() ms: the page's
    // own end-to-end latency (benchmarks/web_page.py) is read from here.
    this.stats.responses.push({ id: created.response_id, createdAt: performance.now(), firstAudioAt: null,
      voiceSentAt: this.stats.lastVoiceSentAt });
    if (this.stats.responses.length > 50) this.stats.responses.shift();
    this.avatar.setMood(created.mood || "neutral");
  }

  /** `response.audio.delta`: schedule the chunk and its visemes on the playback clock. */
  delta(ev) {
    const r = this.resp;
    if (!r || ev.response_id !== r.id) return false;      // a stale chunk of an older answer
    if (r.cut && ev.interruptible !== false) return false; // cut by barge-in
    if ((ev.offset_ms || 0) + (ev.duration_ms || 0) <= (r.skipBeforeMs || 0)) return false; // heard before a drop
    const ctx = this.context();
    const samples = decodePcm16(ev.audio || "");
    if (!samples.length) return false;
    const rate = ev.sample_rate || r.sampleRate;
    const buffer = ctx.createBuffer(1, samples.length, rate);
    buffer.copyToChannel(samples, 0);
    const now = ctx.currentTime;
    const offset = (ev.offset_ms || 0) / 1000;
    if (r.base === null) r.base = Math.max(now + LEAD_S, r.notBefore || 0) - offset;
    let at = r.base + offset;
    if (at < now + MIN_AHEAD_S) {          // late: move the rest of the response back
      r.base += now + MIN_AHEAD_S - at;
      at = r.base + offset;
      this.stats.late += 1;
    }
    const node = ctx.createBufferSource();
    node.buffer = buffer;
    node.connect(ctx.destination);
    const duration = samples.length / rate;
    const entry = { node, interruptible: ev.interruptible !== false, end: at + duration };
    node.onended = () => { this.sources.delete(entry); };
    node.start(at);
    this.sources.add(entry);
    const record = this.stats.responses[this.stats.responses.length - 1];
    if (record && record.id === r.id && record.firstAudioAt === null) record.firstAudioAt = this.perfTime(at);
    r.endTime = Math.max(r.endTime, at + duration);
    r.endMs = Math.max(r.endMs, (ev.offset_ms || 0) + duration * 1000);
    this.stats.chunks += 1;

    const ls = ev.lipsync || {};
    if (Array.isArray(ls.visemes)) {
      for (let i = 0; i < ls.visemes.length; i++) {
        const t0 = r.base + (ls.vtimes[i] || 0) / 1000;
        const t1 = t0 + (ls.vdurations[i] || 0) / 1000;
        if (t1 > t0) this.cues.push({ t0, t1, name: String(ls.visemes[i]), interruptible: entry.interruptible });
      }
      this.cues.sort((a, b) => a.t0 - b.t0);
    }
    if (Array.isArray(ls.words)) {
      for (let i = 0; i < ls.words.length; i++) {
        this.words.push({ t: r.base + ((ls.wtimes && ls.wtimes[i]) || 0) / 1000, text: String(ls.words[i]),
          interruptible: entry.interruptible });
      }
      this.words.sort((a, b) => a.t - b.t);
    }
    return true;
  }

  /** The performance.now() time at which context time `t` reaches the output. */
  perfTime(t) {
    const ts = this.ctx.getOutputTimestamp ? this.ctx.getOutputTimestamp() : null;
    if (ts && ts.performanceTime > 0) return ts.performanceTime + (t - ts.contextTime) * 1000;
    return performance.now() + (t - this.ctx.currentTime) * 1000;
  }

  /**
   * A resumed session (docs/protocol.md, "Resuming a session"): the answer that was playing goes
   * on from `heard_ms`, where the drop stopped it; chunks wholly before it were heard already.
   */
  resumeAt(point) {
    const r = this.resp;
    if (!r || !point || point.response_id !== r.id || point.heard_ms === null || r.done) return;
    Object.assign(r, { cut: false, base: null, notBefore: 0, endTime: 0, skipBeforeMs: point.heard_ms });
  }

  /** `response.done`. */
  finish(done) {
    if (this.resp && done.response_id === this.resp.id) this.resp.done = true;
  }

  /** Ms of the current answer the customer has heard (by the playback clock). */
  heardMs() {
    const r = this.resp;
    if (!r || r.base === null || !this.ctx) return 0;
    const ms = (this.ctx.currentTime - r.base) * 1000;
    return Math.max(0, Math.min(r.endMs, Math.round(ms)));
  }

  /** True while scheduled audio remains. */
  isSpeaking() {
    if (!this.ctx || !this.sources.size) return false;
    const now = this.ctx.currentTime;
    for (const entry of this.sources) if (entry.end > now) return true;
    return false;
  }

  /**
   * Barge-in: stop the interruptible audio now, drop its visemes and captions. Chunks of a
   * mandatory disclosure (interruptible: false) already scheduled keep playing; ones still to
   * come will be played (the server sends them regardless). Returns the ms heard.
   */
  interrupt() {
    const heard = this.heardMs();
    this.stats.lastHeardMs = heard;
    const r = this.resp;
    if (r) r.cut = true;
    const keptAny = this.cutInterruptible();
    if (r && !keptAny) {  // nothing left: the next (disclosure) chunk starts a fresh time base
      r.base = null;
      r.endTime = 0;
      r.notBefore = 0;
    }
    this.avatar.setViseme("sil");
    this.tick();
    return heard;
  }

  /** Stop interruptible sources, drop their cues; true if non-interruptible audio is still scheduled. */
  cutInterruptible() {
    let keptAny = false;
    for (const entry of [...this.sources]) {
      if (entry.interruptible) {
        try { entry.node.stop(); } catch (_) { /* not started */ }
        entry.node.disconnect();
        this.sources.delete(entry);
        this.stats.stopped += 1;
      } else {
        keptAny = true;
      }
    }
    this.cues = this.cues.filter((c) => !c.interruptible);
    this.words = this.words.filter((w) => !w.interruptible);
    return keptAny;
  }

  /** Stop everything (a new answer, a lost connection). */
  stopAll() {
    for (const entry of this.sources) {
      try { entry.node.stop(); } catch (_) { /* not started */ }
      entry.node.disconnect();
      this.stats.stopped += 1;
    }
    this.sources.clear();
    this.cues = [];
    this.words = [];
    if (this.resp) this.resp.cut = true;
    this.avatar.setViseme("sil");
  }

  _raf(now) {
    this.tick(now);
    requestAnimationFrame(this._raf);
  }

  tick(frameNow) {
    this._lastTick = performance.now();
    if (this.ctx) {
      const now = this.ctx.currentTime;
      while (this.cues.length && this.cues[0].t1 <= now) this.cues.shift();
      const cue = this.cues.length && this.cues[0].t0 <= now ? this.cues[0] : null;
      const name = cue ? cue.name : "sil";
      this.avatar.setViseme(name);
      if (cue) this.stats.visemesShown.add(name);
      while (this.words.length && this.words[0].t <= now) this.onWord(this.words.shift().text);
      const speaking = this.isSpeaking();
      if (speaking !== this.speaking) {
        this.speaking = speaking;
        this.avatar.setSpeaking(speaking);
        this.onStateChange(speaking);
      }
    }
    this.avatar.frame(frameNow === undefined ? performance.now() : frameNow);
  }
}
