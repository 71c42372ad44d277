// Microphone capture: getUserMedia → AudioWorklet (mic-worklet.js) → PCM16 16 kHz chunks.
// The worklet runs on the page's one AudioContext (the same clock as playback).

export class Microphone {
  constructor({ getContext, onChunk, onLevel }) {
    this.getContext = getContext;
    this.onChunk = onChunk;
    this.onLevel = onLevel;
    this.stream = null;
    this.node = null;
    this.source = null;
    this.sink = null;
    this.sending = false;
    this.moduleLoaded = false;
    this.chunks = 0;
  }

  get active() {
    return !!this.stream;
  }

  async start() {
    if (this.stream) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("getUserMedia is not available (a secure origin is needed)");
    }
    const ctx = this.getContext();
    if (!this.moduleLoaded) {
      await ctx.audioWorklet.addModule(new URL("./mic-worklet.js", import.meta.url));
      this.moduleLoaded = true;
    }
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    this.stream = stream;
    this.source = ctx.createMediaStreamSource(stream);
    this.node = new AudioWorkletNode(ctx, "pcm16-capture", {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
      processorOptions: { targetRate: 16000, chunkMs: 40 },
    });
    this.node.port.onmessage = (e) => {
      const { pcm, rms } = e.data;
      this.onLevel(rms);
      this.chunks += 1;
      if (this.sending) this.onChunk(pcm, rms);
    };
    // A silent sink keeps the graph pulling the worklet without playing the microphone back.
    this.sink = ctx.createGain();
    this.sink.gain.value = 0;
    this.source.connect(this.node);
    this.node.connect(this.sink);
    this.sink.connect(ctx.destination);
  }

  /** Whether captured chunks go to the socket (after session.updated). */
  setSending(on) {
    this.sending = !!on && this.active;
  }

  /** Ask the worklet to emit its partial chunk now (push-to-talk release). */
  flush() {
    if (this.node) this.node.port.postMessage("flush");
  }

  stop() {
    if (!this.stream) return;
    for (const track of this.stream.getTracks()) track.stop();
    try {
      this.source.disconnect();
      this.node.disconnect();
      this.sink.disconnect();
    } catch (_) { /* already disconnected */ }
    this.node.port.onmessage = null;
    this.stream = this.node = this.source = this.sink = null;
    this.sending = false;
  }
}
