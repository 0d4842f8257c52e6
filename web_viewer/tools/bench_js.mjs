// node tools/bench_js.mjs BUNDLE [REPEATS]
// Times the JavaScript side of a viewer frame on this CPU (no browser): the head model evaluated for a frame
// (modelVertices, or the baked vertices decoded), the centres (faceTable + poseMeans) and the 32-bit depth sort.
import { readFileSync } from 'node:fs';
import { faceTable, frameVertices, loadBundle, poseMeans } from '../src/posing.js';
import { sortBackToFront } from '../src/sort.js';

const [path, repeatsArg] = process.argv.slice(2);
if (!path) { console.error('usage: node tools/bench_js.mjs BUNDLE [REPEATS]'); process.exit(2); }
const repeats = Number(repeatsArg || 20);
const buf = readFileSync(path);
const b = loadBundle(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
const verts = new Float32Array(b.numVertices * 3);
const means = new Float32Array(b.count * 3);
const order = new Uint32Array(b.count);
const scratch = {};
let table = null;
const time = (fn) => {
  for (let i = 0; i < 3; i++) fn(i);
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) fn(i);
  return (performance.now() - t0) / repeats;
};
const w2c = [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 1.3, 0, 0, 0, 1]; // a frontal OpenCV camera 1.3 m away
const vertices = time((i) => frameVertices(b, i % b.numFrames, verts));
const centres = time(() => { table = faceTable(verts, b.faces, table || undefined); poseMeans(b, table, means); });
const sort = time(() => sortBackToFront(means, w2c, 0.01, order, scratch));
console.log(JSON.stringify({ gaussians: b.count, vertices: b.numVertices, form: b.qVertices ? 'vertices' : 'model',
  vertices_ms: vertices, centres_ms: centres, sort_ms: sort, node: process.version }));
