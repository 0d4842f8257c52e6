// node tools/pose_frames.mjs BUNDLE OUT.bin FRAME [FRAME ...]
// Poses the bundle's Gaussians at the given frames with src/posing.js and writes, per frame, float32 mesh vertices
// V*3 (decoded, or the head model evaluated), means N*3, quats N*4 and scales N*3 (in the bundle's Gaussian
// order), one frame after the other. Used by the Python test
// that compares JavaScript posing with gasp_ops posing.
import { readFileSync, writeFileSync } from 'node:fs';
import { frameVertices, loadBundle, poseGaussians } from '../src/posing.js';

const [bundlePath, outPath, ...frames] = process.argv.slice(2);
if (!bundlePath || !outPath || frames.length === 0) {
  console.error('usage: node tools/pose_frames.mjs BUNDLE OUT.bin FRAME [FRAME ...]');
  process.exit(2);
}
const buf = readFileSync(bundlePath);
const bundle = loadBundle(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
const parts = [];
for (const f of frames.map(Number)) {
  if (!(f >= 0 && f < bundle.numFrames)) { console.error(`frame ${f} outside 0..${bundle.numFrames - 1}`); process.exit(2); }
  const v = frameVertices(bundle, f);
  const g = poseGaussians(bundle, v);
  parts.push(Buffer.from(v.buffer), Buffer.from(g.means.buffer), Buffer.from(g.quats.buffer), Buffer.from(g.scales.buffer));
}
writeFileSync(outPath, Buffer.concat(parts));
console.log(JSON.stringify({ count: bundle.count, vertices: bundle.numVertices, frames: frames.length }));
