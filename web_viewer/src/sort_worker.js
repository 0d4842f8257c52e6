// Web Worker: centres + back-to-front order off the main thread, so the page draws at the GPU's pace while the
// order for the newest frame / camera is computed (the draw uses the latest finished order: one or two frames old).
// Messages in: {type: 'init', bundle (the fields of posing.loadBundle the centres need)}; {type: 'sort', key,
// frame, w2c}. Out: {key, frame, order (Uint32Array, transferred), visible}.

import { faceTable, frameVertices, poseMeans } from './posing.js';
import { sortBackToFront } from './sort.js';

let bundle = null;
let vertices = null;
let table = null;
let means = null;
let posed = -1;
const scratch = {};

self.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'init') {
    bundle = m.bundle;
    vertices = new Float32Array(bundle.numVertices * 3);
    means = new Float32Array(bundle.count * 3);
    posed = -1;
    return;
  }
  if (m.type === 'sort' && bundle) {
    if (posed !== m.frame) {
      frameVertices(bundle, m.frame, vertices);
      table = faceTable(vertices, bundle.faces, table || undefined);
      poseMeans(bundle, table, means);
      posed = m.frame;
    }
    const order = new Uint32Array(bundle.count);
    const visible = sortBackToFront(means, m.w2c, 0.01, order, scratch);
    self.postMessage({ key: m.key, frame: m.frame, order, visible }, [order.buffer]);
  }
};
