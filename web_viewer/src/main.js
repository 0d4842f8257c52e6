// The GASP avatar page: loads bundle.safetensors, poses the avatar per frame (GPU, see renderer.js), orbit
// controls and a 360-degree turntable (three.js camera + OrbitControls), play/pause, scrubber and an fps readout.
// window.gaspViewer exposes the same operations to scripts (the browser tests drive the page through it).

import { PerspectiveCamera, Vector3 } from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { faceTable, frameVertices, loadBundle, localCovariances, poseMeans } from './posing.js';
import { SplatRenderer } from './renderer.js';
import { sortBackToFront } from './sort.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

function parseColor(hex, fallback) {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex || '');
  if (!m) return fallback;
  const v = parseInt(m[1], 16);
  return [(v >> 16 & 255) / 255, (v >> 8 & 255) / 255, (v & 255) / 255];
}

async function fetchWithProgress(url, onProgress) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || 0;
  if (!res.body || !total) return res.arrayBuffer();
  const reader = res.body.getReader();
  const out = new Uint8Array(total);
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out.set(value, got);
    got += value.length;
    onProgress(got / total);
  }
  return out.buffer;
}

class Viewer {
  constructor(bundle, canvas) {
    this.bundle = bundle;
    this.canvas = canvas;
    this.background = parseColor(params.get('bg'), [0.13, 0.14, 0.16]);
    this.renderer = new SplatRenderer(canvas, bundle, localCovariances(bundle));
    const cam = bundle.meta.camera;
    this.camera = new PerspectiveCamera(cam.fov_deg, 1, 0.01, 100);
    this.target = new Vector3(...cam.target);
    const el = (cam.elevation_deg * Math.PI) / 180;
    this.home = new Vector3(0, Math.sin(el), Math.cos(el)).multiplyScalar(cam.distance).add(this.target);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.enableDamping = true;
    this.controls.autoRotateSpeed = 6.0; // with update(seconds): 360 degrees in 10 s at any frame rate
    this.controls.addEventListener('change', () => { this.dirty = true; });
    this.resetView();
    this.frame = 0;
    this.playing = false;
    this.override = null;
    this.vertices = new Float32Array(bundle.numVertices * 3);
    this.table = null;
    this.means = new Float32Array(bundle.count * 3);
    this.order = new Uint32Array(bundle.count);
    this.scratch = { depth: new Float32Array(0), key: new Uint16Array(0) };
    this.posedFrame = -1;
    this.meansFrame = -1;
    this.drawn = [];
    this.fps = 0;
    this.dirty = true;
    this.fixedSize = /^(\d+)x(\d+)$/.exec(params.get('size') || '');
    this.startWorker();
  }

  /** The sort worker for interactive drawing (renderNow / benchmark sort synchronously); none if unavailable. */
  startWorker() {
    this.worker = null;
    if (params.get('worker') === '0' || typeof Worker === 'undefined' || typeof __SORT_WORKER_SOURCE__ !== 'string') return;
    try {
      const url = URL.createObjectURL(new Blob([__SORT_WORKER_SOURCE__], { type: 'text/javascript' }));
      this.worker = new Worker(url);
    } catch (err) {
      console.warn('sort worker unavailable, sorting on the main thread:', err);
      return;
    }
    const b = this.bundle;
    const fields = ['count', 'numFrames', 'numVertices', 'faces', 'faceIds', 'bary', 'offsets', 'qVertices',
      'vertexMin', 'vertexStep', 'numExpression', 'shaped', 'expressionBasis', 'jointRegressor', 'skinWeights',
      'poseBasis', 'expression', 'pose'];
    this.worker.postMessage({ type: 'init', bundle: Object.fromEntries(fields.map((k) => [k, b[k]])) });
    this.pending = false;
    this.sorted = null; // {key, order, visible} of the newest finished sort
    this.worker.onmessage = (e) => {
      this.pending = false;
      const stale = !this.sorted || this.sorted.key !== e.data.key;
      this.sorted = e.data;
      if (stale) this.dirty = true;
    };
  }

  /** Interactive draw: the latest order from the worker (requesting a new one when the view or frame changed). */
  renderInteractive() {
    if (!this.worker) { this.render(); return; }
    this.resize();
    if (this.posedFrame !== this.frame) {
      frameVertices(this.bundle, this.frame, this.vertices);
      this.renderer.setVertices(this.vertices);
      this.posedFrame = this.frame;
      this.table = null; // the main thread's centres are stale now (render() re-poses them when it runs)
      this.meansFrame = -1;
    }
    const { w2c, K } = this.cameraCV();
    const key = `${this.frame}|${Array.prototype.join.call(w2c, ',')}`;
    if (!this.pending && (!this.sorted || this.sorted.key !== key)) {
      this.worker.postMessage({ type: 'sort', key, frame: this.frame, w2c: Float64Array.from(w2c) });
      this.pending = true;
    }
    if (!this.sorted) { this.render(); return; } // first frame: sort here once
    this.renderer.draw(this.sorted.order, this.sorted.visible, w2c, K, this.background);
    this.markDrawn(); // when the worker's newer order arrives, onmessage asks for another draw
  }

  markDrawn() {
    const now = performance.now();
    this.drawn.push(now);
    while (this.drawn.length > 30 || (this.drawn.length > 2 && this.drawn[0] < now - 2000)) this.drawn.shift();
    this.dirty = false;
  }

  resetView() {
    this.camera.position.copy(this.home);
    this.controls.target.copy(this.target);
    this.controls.update();
    this.dirty = true;
  }

  resize() {
    let w; let h;
    if (this.override) { w = this.override.W; h = this.override.H; }
    else if (this.fixedSize) { w = Number(this.fixedSize[1]); h = Number(this.fixedSize[2]); }
    else {
      const dpr = Math.min(window.devicePixelRatio || 1, 2);
      w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
      h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    }
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      this.dirty = true;
    }
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
  }

  /** OpenCV world->camera (row-major 16) and [fx, fy, cx, cy] of the current view. */
  cameraCV() {
    if (this.override) return { w2c: this.override.w2c, K: this.override.K };
    this.camera.updateMatrixWorld();
    const e = this.camera.matrixWorldInverse.elements; // column-major GL view matrix
    const w2c = new Float64Array(16);
    const flip = [1, -1, -1, 1];
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) w2c[4 * r + c] = flip[r] * e[4 * c + r];
    const H = this.canvas.height;
    const fy = H / (2 * Math.tan((this.camera.fov * Math.PI) / 360));
    return { w2c, K: [fy, fy, this.canvas.width / 2, H / 2] };
  }

  setFrame(f) {
    const T = this.bundle.numFrames;
    this.frame = ((Math.floor(f) % T) + T) % T;
    this.dirty = true;
  }

  /** Pose (when the frame changed), sort for the current camera and draw. */
  render() {
    this.resize();
    const c0 = performance.now();
    if (this.posedFrame !== this.frame) {
      frameVertices(this.bundle, this.frame, this.vertices);
      this.renderer.setVertices(this.vertices);
      this.posedFrame = this.frame;
    }
    if (this.meansFrame !== this.frame) {
      this.table = faceTable(this.vertices, this.bundle.faces, this.table || undefined);
      poseMeans(this.bundle, this.table, this.means);
      this.meansFrame = this.frame;
    }
    const { w2c, K } = this.cameraCV();
    const visible = sortBackToFront(this.means, w2c, 0.01, this.order, this.scratch);
    this.cpuMs = performance.now() - c0; // JavaScript side: decode + upload vertices, centres, sort
    this.renderer.draw(this.order, visible, w2c, K, this.background);
    this.markDrawn();
  }

  /** Render n frames back to back, waiting for the GPU each time (readPixels); animate / rotate as asked. */
  benchmark(n = 60, { animate = true, rotate = true } = {}) {
    const px = new Uint8Array(4);
    const gl = this.renderer.gl;
    const t0 = performance.now();
    let cpu = 0;
    for (let i = 0; i < n; i++) {
      if (animate) this.setFrame(this.frame + 1);
      if (rotate && !this.override) {
        this.controls.autoRotate = true;
        this.controls.update(1 / 60);
      }
      this.render();
      cpu += this.cpuMs;
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
    }
    const ms = (performance.now() - t0) / n;
    this.controls.autoRotate = $('turntable') ? $('turntable').checked : false;
    return { frames: n, ms_per_frame: ms, fps: 1000 / ms, js_ms_per_frame: cpu / n, gaussians: this.bundle.count,
      width: this.canvas.width, height: this.canvas.height, renderer: rendererName(gl) };
  }
}

function rendererName(gl) {
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
}

function setupUI(v) {
  const T = v.bundle.numFrames;
  const fps = v.bundle.meta.fps || 30;
  const scrub = $('scrub');
  scrub.max = String(T - 1);
  const play = $('play');
  const turn = $('turntable');
  const showFrame = () => { scrub.value = String(v.frame); $('frame').textContent = `${v.frame + 1} / ${T}`; };
  const setPlaying = (p) => { v.playing = p; play.textContent = p ? 'Pause' : 'Play'; v.clock = performance.now(); };
  play.onclick = () => setPlaying(!v.playing);
  scrub.oninput = () => { setPlaying(false); v.setFrame(Number(scrub.value)); showFrame(); };
  turn.onchange = () => { v.controls.autoRotate = turn.checked; v.dirty = true; };
  $('reset').onclick = () => v.resetView();
  window.addEventListener('keydown', (e) => { if (e.code === 'Space') { e.preventDefault(); setPlaying(!v.playing); } });
  const m = v.bundle.meta;
  $('info').textContent = `${v.bundle.count.toLocaleString()} Gaussians · ${T} frames @ ${fps} fps · ${m.animation?.source || ''}`;
  $('label').textContent = m.avatar?.label || '';
  turn.checked = params.get('turntable') === '1';
  v.controls.autoRotate = turn.checked;
  setPlaying(params.get('autoplay') !== '0');
  let frameClock = 0;
  const loop = (now) => {
    if (v.playing) {
      frameClock += Math.min(now - v.clock, 250);
      v.clock = now;
      const step = Math.floor((frameClock * fps) / 1000);
      if (step > 0) { frameClock -= (step * 1000) / fps; v.setFrame(v.frame + step); showFrame(); }
    }
    if (!v.override) v.controls.update(Math.min(now - (v.lastLoop || now), 250) / 1000); // turntable: 10 s a turn
    v.lastLoop = now;
    if (v.dirty) v.renderInteractive();
    // frame rate over the last draws (at most 30, within 2 s); when idle, the last rate stays shown
    const d = v.drawn;
    if (d.length > 1) v.fps = ((d.length - 1) * 1000) / (d[d.length - 1] - d[0]);
    const idle = !d.length || now - d[d.length - 1] > 1000;
    $('fps').textContent = v.fps ? `${v.fps < 10 ? v.fps.toFixed(1) : Math.round(v.fps)} fps${idle ? ' (idle)' : ''}` : 'idle';
    requestAnimationFrame(loop);
  };
  showFrame();
  requestAnimationFrame(loop);
  return { setPlaying, showFrame };
}

async function main() {
  const status = $('status');
  const api = { loaded: false, error: null };
  window.gaspViewer = api;
  try {
    const url = params.get('bundle') || 'bundle.safetensors';
    const buf = await fetchWithProgress(url, (p) => { status.textContent = `loading ${Math.round(100 * p)} %`; });
    const bundle = loadBundle(buf);
    const viewer = new Viewer(bundle, $('view'));
    const ui = setupUI(viewer);
    Object.assign(api, {
      viewer,
      info: { count: bundle.count, frames: bundle.numFrames, fps: bundle.meta.fps, meta: bundle.meta },
      setFrame: (f) => { viewer.setFrame(f); ui.showFrame(); },
      setPlaying: (p) => ui.setPlaying(Boolean(p)),
      setTurntable: (on) => { $('turntable').checked = Boolean(on); viewer.controls.autoRotate = Boolean(on); },
      setCameraOpenCV: (w2c, K, W, H) => { viewer.override = { w2c: Float64Array.from(w2c), K, W, H }; viewer.dirty = true; },
      clearCameraOverride: () => { viewer.override = null; viewer.dirty = true; },
      renderNow: () => { viewer.render(); viewer.renderer.gl.finish(); return true; },
      benchmark: (n, opts) => viewer.benchmark(n, opts),
      fps: () => viewer.fps,
    });
    status.textContent = '';
    api.loaded = true;
  } catch (err) {
    api.error = String(err && err.message ? err.message : err);
    status.textContent = `error: ${api.error}`;
    throw err;
  }
}

main();
