// Runs an UpscalerJS model (npm package folder with model.json + shards) under TensorFlow.js
// 4.11 in Node, the way UpscalerJS 1.0.0 does it: input = pixels (RDN) or pixels * (1/255)
// (RRDN), one predict over the whole image, output clipped to the value range, scaled to
// 0..255 and rounded. Images travel as raw 8-bit RGB files (H*W*3 bytes), so no PNG codec is
// needed here; psnr-parity.py and tools/bench/upscale-vs-tfjs.sh do the PNG side.
//
// usage: node tfjs-sr.mjs --model DIR --backend cpu|wasm --width W --height H IN.rgb OUT.rgb
//                         [--runs N]     (N timed runs after one warm-up; prints JSON)
//                         [--patch P --padding Q]  (UpscalerJS' patching: P x P input patches
//                         with Q pixels of context each side, cropped after predict)
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const args = process.argv.slice(2);
const opt = {runs: 0, backend: 'wasm'};
const files = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--model') opt.model = args[++i];
  else if (a === '--backend') opt.backend = args[++i];
  else if (a === '--width') opt.width = Number(args[++i]);
  else if (a === '--height') opt.height = Number(args[++i]);
  else if (a === '--runs') opt.runs = Number(args[++i]);
  else if (a === '--patch') opt.patch = Number(args[++i]);
  else if (a === '--padding') opt.padding = Number(args[++i]);
  else files.push(a);
}
if (!opt.model || !opt.width || !opt.height || files.length < 1) {
  console.error('usage: node tfjs-sr.mjs --model DIR --backend cpu|wasm --width W --height H IN.rgb [OUT.rgb] [--runs N]');
  process.exit(2);
}

// UpscalerJS' custom layers, written from their documented behaviour (README_sr.md):
// MultiplyBeta multiplies by 0.2; PixelShuffle<s>x is TensorFlow's depth-to-space (NHWC).
class MultiplyBeta extends tf.layers.Layer {
  static className = 'MultiplyBeta';
  call(inputs) { return tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, 0.2); }
}
tf.serialization.registerClass(MultiplyBeta);
for (const s of [2, 3, 4, 8]) {
  const cls = class extends tf.layers.Layer {
    static className = `PixelShuffle${s}x`;
    computeOutputShape(shape) { return [shape[0], shape[1] && shape[1] * s, shape[2] && shape[2] * s, shape[3] / (s * s)]; }
    call(inputs) { return tf.depthToSpace(Array.isArray(inputs) ? inputs[0] : inputs, s, 'NHWC'); }
  };
  tf.serialization.registerClass(cls);
}

async function loadModel(dir) {
  const mj = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const specs = [], parts = [];
  for (const g of mj.weightsManifest) {
    specs.push(...g.weights);
    for (const p of g.paths) parts.push(fs.readFileSync(path.join(dir, p)));
  }
  const blob = Buffer.concat(parts);
  const weightData = blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({modelTopology: mj.modelTopology, weightSpecs: specs, weightData}));
}

await tf.setBackend(opt.backend);
await tf.ready();
const model = await loadModel(opt.model);
const names = model.layers.map((l) => l.getClassName());
const rrdn = names.some((n) => n.startsWith('PixelShuffle'));
const range = rrdn ? 1 : 255;
const raw = fs.readFileSync(files[0]);
if (raw.length !== opt.width * opt.height * 3) throw new Error(`${files[0]}: ${raw.length} bytes, expected ${opt.width}x${opt.height}x3`);
const pixels = tf.tensor4d(new Float32Array(raw), [1, opt.height, opt.width, 3]);

// One predict on (1, h, w, 3) pixels -> 0..255 floats (clipped, scaled), (h*s, w*s, 3).
async function predictPixels(px) {
  const out = tf.tidy(() => {
    const x = rrdn ? tf.mul(px, tf.scalar(1 / 255, 'float32')) : px;
    const y = model.predict(x);
    return tf.mul(tf.clipByValue(y, 0, range), 255 / range);
  });
  const data = await out.data();
  out.dispose();
  return data;
}

// round half up to a byte, as the engine does (tf.round would round half to even)
const toByte = (v) => Math.min(255, Math.floor(v + 0.5));

async function upscale() {
  const W = opt.width, H = opt.height;
  if (!opt.patch || (opt.patch >= W && opt.patch >= H))
    return Uint8Array.from(await predictPixels(pixels), toByte);
  // patches: core P x P, Q pixels of context (clamped at the border), output cropped
  const P = opt.patch, Q = opt.padding || 0;
  let s = 0;
  let out = null;
  for (let y0 = 0; y0 < H; y0 += P)
    for (let x0 = 0; x0 < W; x0 += P) {
      const x1 = Math.min(W, x0 + P), y1 = Math.min(H, y0 + P);
      const px0 = Math.max(0, x0 - Q), py0 = Math.max(0, y0 - Q);
      const px1 = Math.min(W, x1 + Q), py1 = Math.min(H, y1 + Q);
      const patch = tf.slice(pixels, [0, py0, px0, 0], [1, py1 - py0, px1 - px0, 3]);
      const y = await predictPixels(patch);
      patch.dispose();
      const pw = px1 - px0;
      s = Math.round(Math.sqrt(y.length / ((py1 - py0) * pw * 3)));
      if (!out) out = new Uint8Array(W * H * 3 * s * s);
      for (let yy = y0 * s; yy < y1 * s; yy++)
        for (let xx = x0 * s; xx < x1 * s; xx++)
          for (let c = 0; c < 3; c++)
            out[(yy * W * s + xx) * 3 + c] = toByte(y[((yy - py0 * s) * pw * s + (xx - px0 * s)) * 3 + c]);
    }
  return out;
}

const t0 = performance.now();
let y = await upscale();
const first = (performance.now() - t0) / 1e3;
const times = [], cpu = [];
for (let r = 0; r < opt.runs; r++) {
  const t = performance.now(), c = process.cpuUsage();
  y = await upscale();
  times.push((performance.now() - t) / 1e3);
  const d = process.cpuUsage(c);  // user + system, robust to other load on the machine
  cpu.push((d.user + d.system) / 1e6);
}
cpu.sort((a, b) => a - b);
if (files[1]) fs.writeFileSync(files[1], y);
times.sort((a, b) => a - b);
const mem = process.memoryUsage();
console.log(JSON.stringify({
  model: opt.model, backend: tf.getBackend(), architecture: rrdn ? 'rrdn' : 'rdn',
  input: [opt.width, opt.height], output_values: y.length, runs: opt.runs, first_s: first,
  min_s: times.length ? times[0] : null, median_s: times.length ? times[Math.floor(times.length / 2)] : null,
  median_cpu_s: cpu.length ? cpu[Math.floor(cpu.length / 2)] : null,
  peak_rss_mib: process.resourceUsage().maxRSS / 1024, rss_mib: mem.rss / 1048576,
}));
