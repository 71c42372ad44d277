// The customer page: WebSocket session (docs/protocol.md v1), typed and spoken questions, answers
// with their source, hand-off notice, feedback, suggested follow-ups, clarifying questions' options,
// language switch, reconnect
// with backoff. Server text is only ever shown with textContent.

import { Avatar } from "./avatar.js";
import { showAnswer } from "./answer-view.js";
import { Feedback } from "./feedback.js";
import { applyStrings, t } from "./i18n.js";
import { Microphone } from "./mic.js";
import { bindMicControls } from "./mic-controls.js";
import { Player } from "./player.js";
import { Heartbeat, Resumer } from "./resume.js";
import { Suggestions } from "./suggestions.js";

const $ = (id) => document.getElementById(id);
const HAN = /[\u4e00-\u9fff]/;
const LATIN = /[A-Za-z]/;
const VOICE_RMS = 0.01;   // a captured chunk above about -40 dBFS counts as speech (for the latency figure)

const ui = {
  connection: $("connection"),
  connectionText: $("connection-text"),
  avatarButton: $("avatar-button"),
  handoff: $("handoff"),
  caption: $("caption"),
  transcript: $("transcript"),
  answer: $("answer-text"),
  disclosure: $("disclosure"),
  textOnly: $("text-only"),
  source: $("answer-source"),
  form: $("ask-form"),
  question: $("question"),
  micToggle: $("mic-toggle"),
  modeGroup: $("mode-group"),
  ptt: $("ptt"),
  levelBar: $("level-bar"),
  level: $("level"),
  micStatus: $("mic-status"),
};

const params = new URLSearchParams(location.search);
const state = {
  lang: params.get("lang") === "en" ? "en" : "zh",   // the bank's default: Mandarin
  ws: null,
  configured: false,       // session.updated received on the current socket
  queue: [],               // client events waiting for a configured session
  attempt: 0,
  reconnectTimer: null,
  paused: false,           // the server closed an idle session; reconnect on the next action
  mode: "server_vad",
  pttHeld: false,
  lastResponse: null,      // {response_id, entry_id, question}
  lastQuestion: "",
  captionLang: "zh",
};

const resumer = new Resumer();
const heartbeat = new Heartbeat({
  engaged: () => mic.active || !!(player.resp && !player.resp.done) || state.queue.length > 0,
  onDead: (ws) => closed(ws, 4000, "heartbeat lost"),
});
const avatar = new Avatar($("avatar"));
const player = new Player({
  avatar,
  onWord: (word) => appendCaption(word),
  onStateChange: (speaking) => ui.avatarButton.classList.toggle("speaking", speaking),
});
const mic = new Microphone({
  getContext: () => player.context(),
  onChunk: (pcm, rms) => sendAudio(pcm, rms),
  onLevel: (rms) => micControls.showLevel(rms),
});

const feedback = new Feedback({
  yes: $("fb-yes"), no: $("fb-no"), status: $("fb-status"),
  current: () => state.lastResponse,
  say: (el, key) => setText(el, key),
});
const suggestions = new Suggestions({ box: $("suggestions"), list: $("suggestion-list"), onPick: (q) => askTyped(q) });
// The options of a clarifying question: a tap chooses one (the server answers with its entry).
const choices = new Suggestions({ box: $("choices"), list: $("choice-list"), onPick: (q, item) => choose(q, item) });

// A small debugging / test surface (read-only use from tests and benchmarks/web_page.py).
window.teller = { state, player, avatar, mic, stats: player.stats, bargeIns: [] };

// ------------------------------------------------------------------ UI language

function setLanguage(lang, { tell = true } = {}) {
  state.lang = lang;
  applyStrings(lang);
  for (const b of document.querySelectorAll(".lang-switch button")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  refreshConnectionText();
  if (tell) sendOrQueue({ type: "session.update", session: { language: lang } }, { needsConfig: false });
}

function setText(el, key) {
  el.dataset.i18n = key;
  el.textContent = t(state.lang, key);
}

// ------------------------------------------------------------------ connection

function setConnection(kind, extra = "") {
  ui.connection.dataset.state = kind;
  ui.connection.dataset.extra = extra;
  refreshConnectionText();
}

function refreshConnectionText() {
  const kind = ui.connection.dataset.state;
  const extra = ui.connection.dataset.extra;
  const key = kind === "open" && extra === "fresh" ? "conn_fresh"    // a new session after a refused resume
    : { connecting: "conn_connecting", open: "conn_open", retry: "conn_retry", paused: "conn_paused", refused: "conn_refused" }[kind] || "conn_connecting";
  ui.connectionText.removeAttribute("data-i18n");
  ui.connectionText.textContent = t(state.lang, key) + (kind === "refused" ? (extra || "") : "");
}

function wsUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/v1/session`;
}

function connect() {
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = null;
  state.paused = false;
  if (state.ws && state.ws.readyState <= WebSocket.OPEN) return;
  setConnection(state.attempt ? "retry" : "connecting");
  const resuming = resumer.canResume();
  let ws;
  try {
    ws = new WebSocket(resuming ? resumer.url(wsUrl()) : wsUrl());
  } catch (err) {
    scheduleReconnect();
    return;
  }
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  state.configured = false;
  // A resumed session says nothing until it hears whose it is; a new one starts with session.created.
  ws.onopen = () => { if (resuming) ws.send(JSON.stringify(resumer.firstEvent())); heartbeat.start(ws); };
  ws.onmessage = (msg) => {
    heartbeat.seen();
    if (typeof msg.data !== "string") return;
    let ev;
    try { ev = JSON.parse(msg.data); } catch (_) { return; }
    if (ev && typeof ev.type === "string") handleEvent(ev);
  };
  ws.onclose = (e) => closed(ws, e.code, e.reason);
}

function closed(ws, code, reason) {
  if (state.ws !== ws) return;
  state.ws = null;
  state.configured = false;
  heartbeat.stop();
  // A drop that is not an end (docs/protocol.md, "Resuming a session"): note where the answer
  // stopped before the player forgets it; the next connection takes the session back.
  if (code !== 1000 && code !== 1008) resumer.lost(player);
  player.stopAll();
  mic.setSending(false);
  if (reason === "resume refused") {
    scheduleReconnect(0);               // the session is gone: a new one at once
  } else if (code === 1008) {           // refused: say why, retry slowly
    setConnection("refused", reason || String(code));
    scheduleReconnect(reason && reason.includes("minute") ? 60000 : 15000);
  } else if (code === 1000 && reason && /idle|limit/i.test(reason)) {
    state.paused = true;                // idle timeout / session limit: wake up on the next action
    setConnection("paused");
    if (mic.active && state.mode === "server_vad") scheduleReconnect(500);
  } else {
    scheduleReconnect();
  }
}

function scheduleReconnect(fixedMs) {
  if (state.reconnectTimer) return;
  const backoff = Math.min(10000, 500 * 2 ** state.attempt) * (0.8 + 0.4 * Math.random());
  const delay = fixedMs !== undefined ? fixedMs : backoff;
  state.attempt += 1;
  if (ui.connection.dataset.state !== "refused") setConnection("retry");
  state.reconnectTimer = setTimeout(connect, delay);
}

function sessionConfig() {
  return {
    language: state.lang,
    input_sample_rate: 16000,
    viseme_format: "oculus",
    turn_detection: state.mode,
  };
}

function rawSend(obj) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(obj));
    return true;
  }
  return false;
}

/** Send now if the session is configured; else keep it for when it is (and wake the connection). */
function sendOrQueue(obj, { needsConfig = true } = {}) {
  if ((state.configured || !needsConfig) && rawSend(obj)) return;
  if (obj.type === "session.update") return; // the full config is sent on every (re)connect
  state.queue.push(obj);
  if (!state.ws) connect();
}

function sendAudio(pcm, rms) {
  if (!state.configured || !state.ws || state.ws.readyState !== WebSocket.OPEN) {
    if (state.paused && state.mode === "server_vad") connect();
    return;
  }
  if (state.mode === "push_to_talk" && !state.pttHeld) return;
  if (state.ws.bufferedAmount > 256 * 1024) return; // a stalled socket: drop audio rather than queue it
  state.ws.send(pcm);
  if (rms > VOICE_RMS) player.stats.lastVoiceSentAt = performance.now();
}

// ------------------------------------------------------------------ server events

function handleEvent(ev) {
  switch (ev.type) {
    case "session.created":
    case "session.resumed":
      state.attempt = 0;
      if (ev.type === "session.resumed") player.resumeAt(resumer.point);
      // After a refused resume, say quietly that this is a new conversation.
      setConnection("open", resumer.refused && ev.type === "session.created" ? "fresh" : "");
      resumer.refused = false;
      resumer.note(ev);
      rawSend({ type: "session.update", session: sessionConfig() });   // the page's settings of now
      break;
    case "session.updated":
      state.configured = true;
      markReady();
      if (mic.active) mic.setSending(true);
      while (state.queue.length) rawSend(state.queue.shift());
      break;
    case "input_audio_buffer.speech_started":
      if (player.isSpeaking()) bargeIn("speech");  // the server stops sending; we stop playing
      showTranscript(t(state.lang, "listening"), "listening");
      break;
    case "transcript.partial":
      showTranscript(String(ev.text || ""), "partial");
      break;
    case "transcript.final":
      showTranscript(String(ev.text || ""), "final", ev.language);
      state.lastQuestion = String(ev.text || "");
      break;
    case "response.created":
      onResponseCreated(ev);
      break;
    case "response.audio.delta":
      player.delta(ev);
      break;
    case "response.done":
      player.finish(ev);
      // Speech synthesis failed: the answer above is complete, but it was not (all) spoken.
      if (state.lastResponse && state.lastResponse.response_id === ev.response_id) ui.textOnly.hidden = !ev.degraded;
      if (ev.interrupted && player.resp && player.resp.id === ev.response_id) {
        // The server confirms the cut: drop whatever interruptible audio is still scheduled.
        if (!player.resp.cut) player.interrupt();
      }
      break;
    case "error":
      onError(ev);
      break;
    default:
      break;
  }
}

function onResponseCreated(ev) {
  player.begin(ev);
  state.lastResponse = { response_id: ev.response_id, entry_id: ev.entry_id || null, question: state.lastQuestion };
  const lang = showAnswer(ui, ev, setText);
  state.captionLang = lang;
  // A clarifying question or a "one moment, please" (kind hold) is not an answer to rate.
  feedback.reset(ev.kind !== "clarify" && ev.kind !== "hold");
  suggestions.show(ev.related, lang);
  choices.show(ev.clarify, lang);
}

/** The first configured session: the page can take a question (time to interactive). */
function markReady() {
  if (document.documentElement.dataset.ready === "true") return;
  document.documentElement.dataset.ready = "true";
  if (performance.mark) performance.mark("teller:ready");
}

function onError(ev) {
  const code = String(ev.code || "");
  if (code === "no_active_response" || code === "nothing_to_commit") return; // harmless races
  if (code === "resume_refused") {      // the server closes next; a new session follows
    resumer.forget();
    player.finish({ response_id: player.resp ? player.resp.id : null });   // that answer is over
    return;
  }
  ui.micStatus.removeAttribute("data-i18n");
  ui.micStatus.textContent = code === "server_busy" ? t(state.lang, "busy") : t(state.lang, "error") + String(ev.message || code);
}

// ------------------------------------------------------------------ transcript, captions

function showTranscript(text, kind, language) {
  ui.transcript.textContent = text;
  ui.transcript.dataset.state = kind;
  const lang = language || (HAN.test(text) ? "zh" : (LATIN.test(text) ? "en" : state.lang));
  ui.transcript.lang = lang === "zh" ? "zh-CN" : "en";
}

function appendCaption(word) {
  const sep = state.captionLang === "zh" || !ui.caption.textContent ? "" : " ";
  ui.caption.textContent += sep + word;
}

// ------------------------------------------------------------------ barge-in

function bargeIn(cause) {
  if (!player.isSpeaking() && !(player.resp && !player.resp.done && !player.resp.cut)) return;
  const responseId = player.resp ? player.resp.id : null;
  const heard = player.interrupt();
  // What was left right after the cut: a test checks that no stale audio or viseme survived it.
  window.teller.bargeIns.push({ cause, response_id: responseId, heard_ms: heard,
    speakingAfter: player.isSpeaking(), cuesAfter: player.cues.filter((c) => c.interruptible).length,
    visemeAfter: avatar.svg.dataset.viseme });
  sendOrQueue({ type: "response.cancel", heard_ms: heard });
}

ui.avatarButton.addEventListener("click", () => {
  player.context(); // a user gesture: make sure audio may play
  bargeIn("tap");
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") bargeIn("key");
});

// ------------------------------------------------------------------ typed questions

/** A typed question (the box, or a suggested follow-up); must run inside a user gesture. */
function askTyped(text) {
  text = String(text || "").trim();
  if (!text) return;
  player.context(); // created inside the gesture, so audio may play
  if (player.isSpeaking()) player.interrupt();  // a new question replaces the answer playing
  const language = HAN.test(text) ? "zh" : (LATIN.test(text) ? "en" : state.lang);
  showTranscript(text, "typed", language);
  state.lastQuestion = text;
  ui.handoff.hidden = true;
  suggestions.clear();
  choices.clear();
  sendOrQueue({ type: "input_text", text: text.slice(0, 500), language });
}

/** A tap on an option of the clarifying question; must run inside a user gesture. */
function choose(question, item) {
  player.context();
  if (player.isSpeaking()) player.interrupt();
  showTranscript(String(question || ""), "typed");
  state.lastQuestion = String(question || "");
  choices.clear();
  suggestions.clear();
  sendOrQueue({ type: "clarify.choose", entry_id: String(item.id ?? "") });
}

ui.form.addEventListener("submit", (e) => {
  e.preventDefault();
  askTyped(ui.question.value);
  ui.question.value = "";
});

// ------------------------------------------------------------------ language switch

for (const b of document.querySelectorAll(".lang-switch button")) {
  b.addEventListener("click", () => setLanguage(b.dataset.lang));
}

// ------------------------------------------------------------------ microphone

const micControls = bindMicControls({
  ui, mic, state, player,
  say: (el, key) => setText(el, key),
  sayRaw: (el, key, extra) => { el.removeAttribute("data-i18n"); el.textContent = t(state.lang, key) + extra; },
  send: (obj, opts) => sendOrQueue(obj, opts),
  connect: () => connect(),
  bargeIn: (cause) => bargeIn(cause),
});

// ------------------------------------------------------------------ start

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && !state.ws && !state.reconnectTimer) connect();
});
setLanguage(state.lang, { tell: false });
feedback.reset(false);
micControls.refresh();
connect();
