// The 2D teller: an SVG face whose mouth takes one of the 15 Oculus viseme shapes, blinks, idles,
// and shows a mood. It knows nothing about audio: `setViseme(name)` is called by the lip-sync
// scheduler (player.js) from the playback clock; the mouth eases toward the target shape.

// Mouth parameters per Oculus viseme (tuned by eye):
//   open: jaw opening 0..1, width: lip-corner spread 0..1, round: lip rounding 0..1,
//   upper/lower: visible upper/lower teeth 0..1, tongue: tongue visible 0..1, press: lips pressed.
const SHAPES = {
  sil: { open: 0.0, width: 0.5, round: 0.0, upper: 0.0, lower: 0.0, tongue: 0.0, press: 0.0 },
  PP: { open: 0.0, width: 0.44, round: 0.1, upper: 0.0, lower: 0.0, tongue: 0.0, press: 1.0 },
  FF: { open: 0.14, width: 0.52, round: 0.0, upper: 1.0, lower: 0.0, tongue: 0.0, press: 0.0 },
  TH: { open: 0.2, width: 0.5, round: 0.0, upper: 0.8, lower: 0.3, tongue: 1.0, press: 0.0 },
  DD: { open: 0.3, width: 0.54, round: 0.0, upper: 0.7, lower: 0.4, tongue: 0.5, press: 0.0 },
  kk: { open: 0.4, width: 0.5, round: 0.1, upper: 0.5, lower: 0.2, tongue: 0.3, press: 0.0 },
  CH: { open: 0.24, width: 0.36, round: 0.55, upper: 0.8, lower: 0.7, tongue: 0.0, press: 0.0 },
  SS: { open: 0.14, width: 0.66, round: 0.0, upper: 1.0, lower: 1.0, tongue: 0.0, press: 0.0 },
  nn: { open: 0.22, width: 0.5, round: 0.0, upper: 0.6, lower: 0.2, tongue: 0.6, press: 0.0 },
  RR: { open: 0.26, width: 0.38, round: 0.6, upper: 0.4, lower: 0.0, tongue: 0.2, press: 0.0 },
  aa: { open: 0.95, width: 0.56, round: 0.1, upper: 0.5, lower: 0.0, tongue: 0.6, press: 0.0 },
  E: { open: 0.55, width: 0.68, round: 0.0, upper: 0.7, lower: 0.2, tongue: 0.4, press: 0.0 },
  I: { open: 0.32, width: 0.74, round: 0.0, upper: 0.9, lower: 0.5, tongue: 0.0, press: 0.0 },
  O: { open: 0.72, width: 0.34, round: 0.85, upper: 0.2, lower: 0.0, tongue: 0.3, press: 0.0 },
  U: { open: 0.32, width: 0.24, round: 1.0, upper: 0.0, lower: 0.0, tongue: 0.0, press: 0.0 },
};
// Spellings used by Meta/OpenXR for the last three.
const ALIASES = { IH: "I", OH: "O", OU: "U", viseme_sil: "sil" };

export const VISEMES = Object.keys(SHAPES);

// Mood: corner lift of the mouth (px, + is up) and brow offsets (raise of inner/outer ends).
const MOODS = {
  neutral: { corner: 0.6, browInner: 0, browOuter: 0 },
  happy: { corner: 3.2, browInner: -1.5, browOuter: -1.5 },
  apologetic: { corner: -1.2, browInner: -4, browOuter: 1.5 },
  serious: { corner: -0.4, browInner: 2, browOuter: 0 },
};

const CX = 120;
const CY = 170;

export class Avatar {
  constructor(svg) {
    this.svg = svg;
    this.parts = {
      inside: svg.querySelector("#mouth-inside"),
      clip: svg.querySelector("#mouth-clip-path"),
      lips: svg.querySelector("#mouth-lips"),
      upper: svg.querySelector("#teeth-upper"),
      lower: svg.querySelector("#teeth-lower"),
      tongue: svg.querySelector("#tongue"),
      browL: svg.querySelector("#brow-left"),
      browR: svg.querySelector("#brow-right"),
      lids: [...svg.querySelectorAll(".lid")],
      irises: [...svg.querySelectorAll(".iris")],
    };
    this.target = "sil";
    this.current = { ...SHAPES.sil };
    this.mood = "neutral";
    this.corner = MOODS.neutral.corner;
    this.lastFrame = performance.now();
    this.blinkUntil = 0;
    this.nextBlink = performance.now() + 1500 + Math.random() * 2500;
    this.gaze = { x: 0, y: 0, tx: 0, ty: 0, next: 0 };
    this.reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    this.setMood("neutral");
    this.draw();
  }

  /** Target mouth shape (Oculus name); unknown names fall back to silence. */
  setViseme(name) {
    let key = ALIASES[name] || name;
    if (!(key in SHAPES)) key = "sil";
    if (key !== this.target) {
      this.target = key;
      this.svg.dataset.viseme = key;
    }
  }

  setMood(mood) {
    const key = mood in MOODS ? mood : "neutral";
    this.mood = key;
    this.svg.dataset.mood = key;
    const m = MOODS[key];
    // Brows: left runs outer (84) → inner (108), right inner (132) → outer (156).
    const bi = m.browInner;
    const bo = m.browOuter;
    this.parts.browL.setAttribute("d", `M84 ${100 + bo} Q96 ${94 + (bo + bi) / 2} 108 ${99 + bi}`);
    this.parts.browR.setAttribute("d", `M132 ${99 + bi} Q144 ${94 + (bo + bi) / 2} 156 ${100 + bo}`);
  }

  setSpeaking(on) {
    const value = on ? "true" : "false";
    if (this.svg.dataset.speaking !== value) this.svg.dataset.speaking = value;
  }

  /** Advance easing, blinks and gaze; call once per animation frame. */
  frame(now = performance.now()) {
    const dt = Math.min(0.1, (now - this.lastFrame) / 1000);
    this.lastFrame = now;
    // Mouth: ease toward the target (~45 ms time constant), so shapes blend like coarticulation.
    const k = 1 - Math.exp(-dt / 0.045);
    const goal = SHAPES[this.target];
    for (const key of Object.keys(goal)) this.current[key] += (goal[key] - this.current[key]) * k;
    const cornerGoal = MOODS[this.mood].corner;
    this.corner += (cornerGoal - this.corner) * (1 - Math.exp(-dt / 0.25));

    // Blinks: 120 ms, every 2.5-6 s, sometimes a double blink.
    if (now >= this.nextBlink) {
      this.blinkUntil = now + 120;
      this.nextBlink = now + (Math.random() < 0.15 ? 260 : 2500 + Math.random() * 3500);
    }
    const blinking = now < this.blinkUntil;
    const blinkValue = blinking ? "true" : "false";
    if (this.svg.dataset.blink !== blinkValue) {
      this.svg.dataset.blink = blinkValue;
      for (const lid of this.parts.lids) lid.setAttribute("ry", blinking ? "8" : "0");
    }

    // Gaze: small saccades every few seconds.
    if (!this.reducedMotion) {
      if (now >= this.gaze.next) {
        this.gaze.tx = (Math.random() - 0.5) * 2.4;
        this.gaze.ty = (Math.random() - 0.5) * 1.2;
        this.gaze.next = now + 1500 + Math.random() * 3000;
      }
      this.gaze.x += (this.gaze.tx - this.gaze.x) * Math.min(1, dt * 20);
      this.gaze.y += (this.gaze.ty - this.gaze.y) * Math.min(1, dt * 20);
      this.parts.irises.forEach((iris, i) => {
        iris.setAttribute("cx", String((i === 0 ? 96 : 144) + this.gaze.x));
        iris.setAttribute("cy", String(117 + this.gaze.y));
      });
    }
    this.draw();
  }

  draw() {
    const s = this.current;
    const halfW = 11 + 15 * s.width - 3 * s.round;
    const cornerY = CY - this.corner * (1 - 0.6 * s.open);
    const topOpen = 1.2 + 5 * s.open + 2 * s.round;         // how far the upper lip lifts
    const bottomOpen = 0.8 + 20 * s.open + 3 * s.round;     // how far the lower lip drops
    const pressK = 1 - 0.8 * s.press;
    // Bezier control points: rounder mouths pull the controls toward the corners (oval shape).
    const ctrl = halfW * (0.55 - 0.25 * s.round);
    const top = CY - topOpen * pressK / 0.75;
    const bottom = CY + bottomOpen * pressK / 0.75;
    const L = `${(CX - halfW).toFixed(2)} ${cornerY.toFixed(2)}`;
    const R = `${(CX + halfW).toFixed(2)} ${cornerY.toFixed(2)}`;
    const d = `M${L} C${(CX - ctrl).toFixed(2)} ${top.toFixed(2)} ${(CX + ctrl).toFixed(2)} ${top.toFixed(2)} ${R}`
      + ` C${(CX + ctrl).toFixed(2)} ${bottom.toFixed(2)} ${(CX - ctrl).toFixed(2)} ${bottom.toFixed(2)} ${L} Z`;
    const p = this.parts;
    p.inside.setAttribute("d", d);
    p.clip.setAttribute("d", d);
    p.lips.setAttribute("d", d);
    p.lips.setAttribute("stroke-width", (2.6 + 1.6 * s.press + 0.8 * s.round).toFixed(2));
    const innerTop = CY - topOpen * pressK;
    const innerBottom = CY + bottomOpen * pressK;
    p.upper.setAttribute("y", (innerTop - 1).toFixed(2));
    p.upper.setAttribute("height", (Math.max(0, s.upper) * 5.5).toFixed(2));
    const lowerH = Math.max(0, s.lower) * 4.5;
    p.lower.setAttribute("y", (innerBottom - lowerH + 1).toFixed(2));
    p.lower.setAttribute("height", lowerH.toFixed(2));
    p.tongue.setAttribute("cy", (innerBottom + 4 - 6 * s.tongue).toFixed(2));
    p.tongue.setAttribute("ry", (3 + 4 * s.tongue).toFixed(2));
  }
}
