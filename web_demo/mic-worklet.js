// AudioWorklet processor: microphone (context rate, float) → PCM16 mono at 16 kHz, in 40 ms chunks.
//
// Resampling: the input is low-passed (two cascaded biquads at 0.45 × the target rate) when the
// context runs faster than the target, then read at a fractional step with linear interpolation.
// The read position is carried across the 128-frame render quanta, so there are no seams. Each
// chunk goes to the main thread as a transferred ArrayBuffer together with its RMS level.

class Biquad {
  constructor(rate, cutoff) {
    const w = (2 * Math.PI * cutoff) / rate;
    const alpha = Math.sin(w) / (2 * Math.SQRT1_2);
    const cos = Math.cos(w);
    const a0 = 1 + alpha;
    this.b0 = (1 - cos) / 2 / a0;
    this.b1 = (1 - cos) / a0;
    this.b2 = this.b0;
    this.a1 = (-2 * cos) / a0;
    this.a2 = (1 - alpha) / a0;
    this.x1 = this.x2 = this.y1 = this.y2 = 0;
  }

  run(x) {
    const y = this.b0 * x + this.b1 * this.x1 + this.b2 * this.x2 - this.a1 * this.y1 - this.a2 * this.y2;
    this.x2 = this.x1; this.x1 = x;
    this.y2 = this.y1; this.y1 = y;
    return y;
  }
}

class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.target = opts.targetRate || 16000;
    this.step = sampleRate / this.target;          // input samples per output sample
    this.chunk = Math.round((this.target * (opts.chunkMs || 40)) / 1000);
    this.filters = sampleRate > this.target
      ? [new Biquad(sampleRate, 0.45 * this.target), new Biquad(sampleRate, 0.45 * this.target)]
      : [];
    this.pos = 0;           // read position relative to `prev` (fractional, in input samples)
    this.prev = 0;          // last filtered input sample of the previous quantum
    this.out = new Int16Array(this.chunk);
    this.fill = 0;
    this.sumSq = 0;
    this.port.onmessage = (e) => { if (e.data === "flush") this.flush(); };
  }

  flush() {
    if (!this.fill) return;
    const pcm = this.out.slice(0, this.fill);
    const rms = Math.sqrt(this.sumSq / this.fill);
    this.port.postMessage({ pcm: pcm.buffer, rms }, [pcm.buffer]);
    this.fill = 0;
    this.sumSq = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || !input.length || !input[0].length) return true;
    const n = input[0].length;
    const x = new Float32Array(n);
    // Mono mix, then anti-alias filter.
    for (let c = 0; c < input.length; c++) {
      const ch = input[c];
      for (let i = 0; i < n; i++) x[i] += ch[i] / input.length;
    }
    for (const f of this.filters) for (let i = 0; i < n; i++) x[i] = f.run(x[i]);
    // Sample index -1 is `prev`, 0..n-1 is x; pos is measured from index -1.
    while (this.pos < n) {
      const i = Math.floor(this.pos) - 1;
      const frac = this.pos - Math.floor(this.pos);
      const a = i < 0 ? this.prev : x[i];
      const b = x[i + 1];
      const v = a + (b - a) * frac;
      const s = Math.max(-1, Math.min(1, v));
      this.out[this.fill++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      this.sumSq += s * s;
      if (this.fill === this.chunk) this.flush();
      this.pos += this.step;
    }
    this.pos -= n;
    this.prev = x[n - 1];
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
