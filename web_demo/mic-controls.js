// The microphone controls: on/off, hands-free or push-to-talk, the hold-to-talk button, the level
// meter. The capture itself is in mic.js; the session (sending, barge-in) stays in app.js.

export function bindMicControls({ ui, mic, state, player, say, sayRaw, send, connect, bargeIn }) {
  function showLevel(rms) {
    const db = 20 * Math.log10(Math.max(rms, 1e-5));
    const pct = Math.max(0, Math.min(100, Math.round(((db + 60) / 60) * 100)));
    ui.levelBar.style.width = pct + "%";
    ui.level.setAttribute("aria-valuenow", String(pct));
  }

  function refresh() {
    const on = mic.active;
    ui.micToggle.setAttribute("aria-pressed", String(on));
    say(ui.micToggle, on ? "mic_off" : "mic_on");
    ui.modeGroup.disabled = !on;
    ui.ptt.hidden = !(on && state.mode === "push_to_talk");
    say(ui.micStatus, !on ? "mic_off_note" : (state.mode === "push_to_talk" ? "mic_ptt" : "mic_listening"));
    if (!on) showLevel(0);
  }

  ui.micToggle.addEventListener("click", async () => {
    if (mic.active) {
      mic.stop();
      refresh();
      return;
    }
    try {
      await mic.start();
      if (state.configured) mic.setSending(true);
      if (!state.ws) connect();
    } catch (err) {
      sayRaw(ui.micStatus, "mic_denied", String((err && err.message) || err));
      return;
    }
    refresh();
  });

  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      state.mode = radio.value;
      send({ type: "session.update", session: { turn_detection: state.mode } }, { needsConfig: false });
      refresh();
    });
  }

  function pttDown(e) {
    if (state.pttHeld) return;
    if (e) e.preventDefault();
    state.pttHeld = true;
    ui.ptt.classList.add("held");
    say(ui.ptt, "ptt_release");
    if (player.isSpeaking()) bargeIn("push_to_talk");
    if (state.paused || !state.ws) connect();
  }

  function pttUp() {
    if (!state.pttHeld) return;
    state.pttHeld = false;
    ui.ptt.classList.remove("held");
    say(ui.ptt, "ptt_hold");
    mic.flush();
    // Let the flushed tail leave before the commit.
    setTimeout(() => send({ type: "input_audio_buffer.commit" }), 60);
  }

  ui.ptt.addEventListener("pointerdown", (e) => { ui.ptt.setPointerCapture(e.pointerId); pttDown(e); });
  ui.ptt.addEventListener("pointerup", pttUp);
  ui.ptt.addEventListener("pointercancel", pttUp);
  ui.ptt.addEventListener("keydown", (e) => { if ((e.key === " " || e.key === "Enter") && !e.repeat) pttDown(e); });
  ui.ptt.addEventListener("keyup", (e) => { if (e.key === " " || e.key === "Enter") pttUp(); });
  ui.ptt.addEventListener("blur", pttUp);

  return { showLevel, refresh };
}
