// Posing mesh-bound Gaussians in JavaScript: the maths of gasp_ops.avatar.pose / gasp_ops.runtime FastPoser.
//
// Gaussian i is bound to face f with barycentrics (b0, b1, b2). For the posed triangle (v0, v1, v2):
//   e1 = v1 - v0, e2 = v2 - v0, a0 = e1/|e1|, a2 = (e1 x e2)/|e1 x e2|, a1 = a2 x a0, R = [a0 a1 a2],
//   k = (|e1| + |e1 x e2|/|e1|) / 2   (mean of edge length and height)
//   mean  = v0 + b1 e1 + b2 e2 + k R offset
//   quat  = q(R) (x) q_local           (w >= 0 for q(R), Shepperd's method, like matrix_to_quaternion)
//   scale = k exp(log_scale)
//   covariance = k^2 R (R_l diag(exp(2 log_scale)) R_l^T) R^T     (what the renderer needs)
// The face frame is computed in float64 (JavaScript numbers), the per-Gaussian results stored as float32.
// No DOM or WebGL here: node runs this file for the test against Python's posing.

import { parseSafetensors } from './safetensors.js';

const EPS = 1e-12;
const ATTRS = ['offsets', 'log_scales', 'quats', 'colors', 'opacity_logits'];

/** An animation bundle (docs/web_bundle.md) from the bytes of bundle.safetensors. */
export function loadBundle(buffer) {
  const { tensors, meta } = parseSafetensors(buffer);
  if (meta.kind !== 'gasp_web_bundle') throw new Error('not a GASP web bundle');
  const need = ATTRS.map((a) => `gaussians.${a}`).concat(['binding.face_ids', 'binding.barycentrics', 'mesh.faces']);
  const baked = Boolean(tensors['frames.vertices']);
  const anim = baked ? ['frames.vertices', 'frames.vertex_min', 'frames.vertex_step']
    : ['model.shaped', 'model.expression_basis', 'model.joint_regressor', 'model.skin_weights', 'frames.expression',
      'frames.pose'];
  for (const n of need.concat(anim)) if (!tensors[n]) throw new Error(`bundle lacks ${n}`);
  const t = (n) => (tensors[n] ? tensors[n].data : null);
  const count = tensors['binding.face_ids'].shape[0];
  const bundle = {
    meta, count, numFaces: tensors['mesh.faces'].shape[0],
    faces: t('mesh.faces'), faceIds: t('binding.face_ids'), bary: t('binding.barycentrics'),
    offsets: t('gaussians.offsets'), logScales: t('gaussians.log_scales'), quats: t('gaussians.quats'),
    colors: t('gaussians.colors'), opacityLogits: t('gaussians.opacity_logits'),
  };
  if (baked) {
    [bundle.numFrames, bundle.numVertices] = tensors['frames.vertices'].shape;
    Object.assign(bundle, { qVertices: t('frames.vertices'), vertexMin: t('frames.vertex_min'),
      vertexStep: t('frames.vertex_step') });
  } else {
    const [V, , E] = tensors['model.expression_basis'].shape;
    Object.assign(bundle, { numFrames: tensors['frames.expression'].shape[0], numVertices: V, numExpression: E,
      shaped: t('model.shaped'), expressionBasis: t('model.expression_basis'), jointRegressor: t('model.joint_regressor'),
      skinWeights: t('model.skin_weights'), poseBasis: t('model.pose_basis'), expression: t('frames.expression'),
      pose: t('frames.pose') });
  }
  return bundle;
}

/** Vertices (Float32Array V*3) of frame t: decoded when baked, else the head model evaluated (modelVertices). */
export function frameVertices(bundle, t, out = new Float32Array(bundle.numVertices * 3)) {
  if (!bundle.qVertices) return modelVertices(bundle, t, out);
  const V = bundle.numVertices;
  const q = bundle.qVertices;
  const lo = bundle.vertexMin;
  const st = bundle.vertexStep;
  const base = t * V * 3;
  for (let v = 0; v < V; v++) {
    for (let c = 0; c < 3; c++) out[3 * v + c] = lo[c] + (q[base + 3 * v + c] + 32768) * st[c];
  }
  return out;
}

const PARENTS = [-1, 0, 1, 1, 1]; // root, neck, jaw, left eye, right eye (gasp_ops.headmodel.lbs)
const POSE_OFFSETS = [0, 6, 9, 12, 15]; // axis-angle of each joint in frames.pose (translation at 3..5)

/** Rodrigues (gasp_ops.rotations.axis_angle_to_matrix): axis-angle -> row-major 3x3, Taylor terms near zero. */
function axisAngleMatrix(x, y, z) {
  const t2 = x * x + y * y + z * z;
  let a; let b;
  if (t2 < 1e-8) { a = 1 - t2 / 6; b = 0.5 - t2 / 24; } else { const t = Math.sqrt(t2); a = Math.sin(t) / t; b = (1 - Math.cos(t)) / t2; }
  // I + a K + b K^2, K the cross-product matrix of (x, y, z)
  return [
    1 + b * (-y * y - z * z), -a * z + b * x * y, a * y + b * x * z,
    a * z + b * x * y, 1 + b * (-x * x - z * z), -a * x + b * y * z,
    -a * y + b * x * z, a * x + b * y * z, 1 + b * (-x * x - y * y),
  ];
}

/**
 * The head model evaluated for frame t (HeadModel.forward): v = shaped + expression blendshapes; joints =
 * regressor v; pose correctives (R_j - I of the non-root joints) when present; linear blend skinning over the
 * joint chain; plus the global translation. Float64 maths, Float32Array V*3 out.
 */
export function modelVertices(bundle, t, out = new Float32Array(bundle.numVertices * 3)) {
  const V = bundle.numVertices;
  const E = bundle.numExpression;
  const e = bundle.expression.subarray(t * E, (t + 1) * E);
  const p = bundle.pose.subarray(t * 18, (t + 1) * 18);
  const B = bundle.expressionBasis;
  const vs = bundle._vs || (bundle._vs = new Float64Array(V * 3));
  for (let i = 0; i < 3 * V; i++) {
    let s = bundle.shaped[i];
    const o = i * E;
    for (let k = 0; k < E; k++) s += e[k] * B[o + k];
    vs[i] = s;
  }
  const J = bundle.jointRegressor;
  const joints = [];
  for (let j = 0; j < 5; j++) {
    let x = 0; let y = 0; let z = 0;
    for (let v = 0; v < V; v++) { const w = J[j * V + v]; if (w !== 0) { x += w * vs[3 * v]; y += w * vs[3 * v + 1]; z += w * vs[3 * v + 2]; } }
    joints.push([x, y, z]);
  }
  const R = POSE_OFFSETS.map((o) => axisAngleMatrix(p[o], p[o + 1], p[o + 2]));
  const v = bundle._vp || (bundle._vp = new Float64Array(V * 3));
  v.set(vs);
  if (bundle.poseBasis) {
    const P = bundle.poseBasis;
    for (let j = 1; j < 5; j++) {
      for (let r = 0; r < 9; r++) {
        const f = R[j][r] - (r % 4 === 0 ? 1 : 0);
        if (f === 0) continue;
        const row = ((j - 1) * 9 + r) * 3 * V;
        for (let i = 0; i < 3 * V; i++) v[i] += f * P[row + i];
      }
    }
  }
  // world transforms of the chain (row-major 3x3 + translation), then minus the rest joint position
  const world = [];
  for (let j = 0; j < 5; j++) {
    const par = PARENTS[j];
    const rel = par < 0 ? joints[j] : [0, 1, 2].map((c) => joints[j][c] - joints[par][c]);
    if (par < 0) { world.push({ r: R[j], t: rel }); continue; }
    const W = world[par];
    const r = new Array(9);
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) r[3 * a + b] = W.r[3 * a] * R[j][b] + W.r[3 * a + 1] * R[j][3 + b] + W.r[3 * a + 2] * R[j][6 + b];
    const tt = [0, 1, 2].map((a) => W.r[3 * a] * rel[0] + W.r[3 * a + 1] * rel[1] + W.r[3 * a + 2] * rel[2] + W.t[a]);
    world.push({ r, t: tt });
  }
  const A = world.map(({ r, t: tw }, j) => {
    const jt = joints[j];
    return { r, t: [0, 1, 2].map((a) => tw[a] - (r[3 * a] * jt[0] + r[3 * a + 1] * jt[1] + r[3 * a + 2] * jt[2])) };
  });
  const W = bundle.skinWeights;
  const M = new Float64Array(12);
  for (let i = 0; i < V; i++) {
    M.fill(0);
    for (let j = 0; j < 5; j++) {
      const w = W[5 * i + j];
      if (w === 0) continue;
      for (let k = 0; k < 9; k++) M[k] += w * A[j].r[k];
      M[9] += w * A[j].t[0]; M[10] += w * A[j].t[1]; M[11] += w * A[j].t[2];
    }
    const x = v[3 * i]; const y = v[3 * i + 1]; const z = v[3 * i + 2];
    out[3 * i] = M[0] * x + M[1] * y + M[2] * z + M[9] + p[3];
    out[3 * i + 1] = M[3] * x + M[4] * y + M[5] * z + M[10] + p[4];
    out[3 * i + 2] = M[6] * x + M[7] * y + M[8] * z + M[11] + p[5];
  }
  return out;
}

export const TABLE = 23; // per face: v0 (3), e1 (3), e2 (3), kR row-major (9), q_f wxyz (4), k (1)

/** Per-face frames (Float64Array F*23) of a posed mesh (vertices Float32Array V*3, faces Int32Array F*3). */
export function faceTable(vertices, faces, out = new Float64Array((faces.length / 3) * TABLE)) {
  const F = faces.length / 3;
  for (let f = 0; f < F; f++) {
    const i0 = 3 * faces[3 * f];
    const i1 = 3 * faces[3 * f + 1];
    const i2 = 3 * faces[3 * f + 2];
    const x0 = vertices[i0]; const y0 = vertices[i0 + 1]; const z0 = vertices[i0 + 2];
    const e1x = vertices[i1] - x0; const e1y = vertices[i1 + 1] - y0; const e1z = vertices[i1 + 2] - z0;
    const e2x = vertices[i2] - x0; const e2y = vertices[i2 + 1] - y0; const e2z = vertices[i2 + 2] - z0;
    const l1 = Math.max(Math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z), EPS);
    const a0x = e1x / l1; const a0y = e1y / l1; const a0z = e1z / l1;
    const nx = e1y * e2z - e1z * e2y; const ny = e1z * e2x - e1x * e2z; const nz = e1x * e2y - e1y * e2x;
    const dbl = Math.max(Math.sqrt(nx * nx + ny * ny + nz * nz), EPS);
    const a2x = nx / dbl; const a2y = ny / dbl; const a2z = nz / dbl;
    const a1x = a2y * a0z - a2z * a0y; const a1y = a2z * a0x - a2x * a0z; const a1z = a2x * a0y - a2y * a0x;
    const k = 0.5 * (l1 + dbl / l1);
    // R columns a0 a1 a2: m_rc = a_c[r]
    const m00 = a0x; const m01 = a1x; const m02 = a2x;
    const m10 = a0y; const m11 = a1y; const m12 = a2y;
    const m20 = a0z; const m21 = a1z; const m22 = a2z;
    const t0 = 1 + m00 + m11 + m22; const t1 = 1 + m00 - m11 - m22;
    const t2 = 1 - m00 + m11 - m22; const t3 = 1 - m00 - m11 + m22;
    let qw; let qx; let qy; let qz;
    if (t0 >= t1 && t0 >= t2 && t0 >= t3) { qw = t0; qx = m21 - m12; qy = m02 - m20; qz = m10 - m01; }
    else if (t1 >= t2 && t1 >= t3) { qw = m21 - m12; qx = t1; qy = m01 + m10; qz = m02 + m20; }
    else if (t2 >= t3) { qw = m02 - m20; qx = m01 + m10; qy = t2; qz = m12 + m21; }
    else { qw = m10 - m01; qx = m02 + m20; qy = m12 + m21; qz = t3; }
    let qn = 1 / Math.max(Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz), EPS);
    if (qw < 0) qn = -qn;
    const o = f * TABLE;
    out[o] = x0; out[o + 1] = y0; out[o + 2] = z0;
    out[o + 3] = e1x; out[o + 4] = e1y; out[o + 5] = e1z;
    out[o + 6] = e2x; out[o + 7] = e2y; out[o + 8] = e2z;
    out[o + 9] = k * m00; out[o + 10] = k * m01; out[o + 11] = k * m02;
    out[o + 12] = k * m10; out[o + 13] = k * m11; out[o + 14] = k * m12;
    out[o + 15] = k * m20; out[o + 16] = k * m21; out[o + 17] = k * m22;
    out[o + 18] = qw * qn; out[o + 19] = qx * qn; out[o + 20] = qy * qn; out[o + 21] = qz * qn;
    out[o + 22] = k;
  }
  return out;
}

/** World centres (Float32Array N*3) for a face table: what the depth sort needs each frame. */
export function poseMeans(bundle, table, out = new Float32Array(bundle.count * 3)) {
  const { count, faceIds, bary, offsets } = bundle;
  for (let i = 0; i < count; i++) {
    const o = faceIds[i] * TABLE;
    const b1 = bary[3 * i + 1]; const b2 = bary[3 * i + 2];
    const ox = offsets[3 * i]; const oy = offsets[3 * i + 1]; const oz = offsets[3 * i + 2];
    for (let c = 0; c < 3; c++) {
      const r = o + 9 + 3 * c;
      out[3 * i + c] = table[o + c] + b1 * table[o + 3 + c] + b2 * table[o + 6 + c]
        + table[r] * ox + table[r + 1] * oy + table[r + 2] * oz;
    }
  }
  return out;
}

/** Full posing: { means N*3, quats N*4 (unit, w x y z), scales N*3 } as Float32Arrays, in the bundle's order. */
export function poseGaussians(bundle, vertices) {
  const table = faceTable(vertices, bundle.faces);
  const N = bundle.count;
  const means = poseMeans(bundle, table);
  const quats = new Float32Array(N * 4);
  const scales = new Float32Array(N * 3);
  const { faceIds, logScales } = bundle;
  const ql = bundle.quats;
  for (let i = 0; i < N; i++) {
    const o = faceIds[i] * TABLE;
    const pw = table[o + 18]; const px = table[o + 19]; const py = table[o + 20]; const pz = table[o + 21];
    let lw = ql[4 * i]; let lx = ql[4 * i + 1]; let ly = ql[4 * i + 2]; let lz = ql[4 * i + 3];
    const ln = 1 / Math.max(Math.sqrt(lw * lw + lx * lx + ly * ly + lz * lz), EPS);
    lw *= ln; lx *= ln; ly *= ln; lz *= ln;
    let w = pw * lw - px * lx - py * ly - pz * lz;
    let x = pw * lx + px * lw + py * lz - pz * ly;
    let y = pw * ly - px * lz + py * lw + pz * lx;
    let z = pw * lz + px * ly - py * lx + pz * lw;
    const n = 1 / Math.max(Math.sqrt(w * w + x * x + y * y + z * z), EPS);
    w *= n; x *= n; y *= n; z *= n;
    quats[4 * i] = w; quats[4 * i + 1] = x; quats[4 * i + 2] = y; quats[4 * i + 3] = z;
    const k = table[o + 22];
    for (let c = 0; c < 3; c++) scales[3 * i + c] = k * Math.exp(logScales[3 * i + c]);
  }
  return { means, quats, scales };
}

/** Static local covariances R_l diag(exp(2 s)) R_l^T (Float32Array N*6: xx xy xz yy yz zz), triangle units. */
export function localCovariances(bundle) {
  const N = bundle.count;
  const out = new Float32Array(N * 6);
  const q = bundle.quats;
  const s = bundle.logScales;
  for (let i = 0; i < N; i++) {
    let w = q[4 * i]; let x = q[4 * i + 1]; let y = q[4 * i + 2]; let z = q[4 * i + 3];
    const n = 1 / Math.max(Math.sqrt(w * w + x * x + y * y + z * z), EPS);
    w *= n; x *= n; y *= n; z *= n;
    const r = [
      1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
      2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
      2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ];
    const d = [Math.exp(2 * s[3 * i]), Math.exp(2 * s[3 * i + 1]), Math.exp(2 * s[3 * i + 2])];
    const cov = (a, b) => r[3 * a] * r[3 * b] * d[0] + r[3 * a + 1] * r[3 * b + 1] * d[1] + r[3 * a + 2] * r[3 * b + 2] * d[2];
    out[6 * i] = cov(0, 0); out[6 * i + 1] = cov(0, 1); out[6 * i + 2] = cov(0, 2);
    out[6 * i + 3] = cov(1, 1); out[6 * i + 4] = cov(1, 2); out[6 * i + 5] = cov(2, 2);
  }
  return out;
}
