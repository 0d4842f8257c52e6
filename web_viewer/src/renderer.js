// WebGL2 renderer of mesh-bound Gaussians, posed on the GPU.
//
// Static per-Gaussian data live in float textures (barycentrics, face id, opacity, offset, local covariance,
// colour); each frame uploads only the posed mesh vertices (V texels) and the back-to-front order (N indices).
// The vertex shader rebuilds the triangle frame from the three vertices (src/posing.js's maths, float32), poses
// the Gaussian (centre, 3D covariance), projects it with the EWA approximation of the project's reference
// rasteriser (gasp_ops/render/reference.py: OpenCV pinhole, clamped Jacobian, +0.3 px low-pass, opacity-aware
// extent min(3.33, sqrt(2 ln(255 opacity))) sigma) and emits a screen-aligned quad; the fragment shader evaluates
// alpha = min(0.999, opacity exp(-sigma)) (skipped below 1/255) and blends premultiplied colour back to front.

const VS = `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
precision highp isampler2D;
uniform sampler2D u_gA;   // b1, b2, face id, opacity
uniform sampler2D u_gB;   // offset xyz, local cov zz
uniform sampler2D u_gC;   // local cov xx xy xz yy
uniform sampler2D u_gD;   // local cov yz, rgb
uniform sampler2D u_verts; // posed vertex xyz
uniform isampler2D u_faces; // vertex indices of a face
uniform mat4 u_w2c;       // OpenCV world -> camera (column-major storage of the row-major matrix' transpose)
uniform vec4 u_K;         // fx, fy, cx, cy (pixels)
uniform vec2 u_size;      // W, H
uniform float u_near;
in uint a_index;
out vec3 v_color;
out float v_opacity;
out vec3 v_conic;
out vec2 v_d;

ivec2 texel(int i, int w) { return ivec2(i % w, i / w); }

void main() {
  int i = int(a_index);
  int gw = textureSize(u_gA, 0).x;
  vec4 A = texelFetch(u_gA, texel(i, gw), 0);
  vec4 B = texelFetch(u_gB, texel(i, gw), 0);
  vec4 C = texelFetch(u_gC, texel(i, gw), 0);
  vec4 D = texelFetch(u_gD, texel(i, gw), 0);
  ivec3 f = texelFetch(u_faces, texel(int(A.z), textureSize(u_faces, 0).x), 0).xyz;
  int vw = textureSize(u_verts, 0).x;
  vec3 p0 = texelFetch(u_verts, texel(f.x, vw), 0).xyz;
  vec3 e1 = texelFetch(u_verts, texel(f.y, vw), 0).xyz - p0;
  vec3 e2 = texelFetch(u_verts, texel(f.z, vw), 0).xyz - p0;
  float l1 = max(length(e1), 1e-12);
  vec3 a0 = e1 / l1;
  vec3 n = cross(e1, e2);
  float dbl = max(length(n), 1e-12);
  vec3 a2 = n / dbl;
  vec3 a1 = cross(a2, a0);
  float k = 0.5 * (l1 + dbl / l1);
  mat3 R = mat3(a0, a1, a2);                      // columns
  vec3 mean = p0 + A.x * e1 + A.y * e2 + k * (R * B.xyz);
  mat3 L = mat3(C.x, C.y, C.z, C.y, C.w, D.x, C.z, D.x, B.w);
  mat3 S = (k * k) * (R * L * transpose(R));      // world covariance

  vec4 t4 = u_w2c * vec4(mean, 1.0);
  vec3 t = t4.xyz;
  gl_Position = vec4(0.0, 0.0, 2.0, 1.0);         // culled unless set below
  float op = A.w;
  if (t.z < u_near || op < 1.0 / 255.0) return;
  mat3 W = mat3(u_w2c);
  mat3 Sc = W * S * transpose(W);
  float fx = u_K.x, fy = u_K.y, cx = u_K.z, cy = u_K.w;
  float limx0 = cx / fx + 0.3 * 0.5 * u_size.x / fx, limx1 = (u_size.x - cx) / fx + 0.3 * 0.5 * u_size.x / fx;
  float limy0 = cy / fy + 0.3 * 0.5 * u_size.y / fy, limy1 = (u_size.y - cy) / fy + 0.3 * 0.5 * u_size.y / fy;
  float tx = clamp(t.x / t.z, -limx0, limx1) * t.z;
  float ty = clamp(t.y / t.z, -limy0, limy1) * t.z;
  // the EWA Jacobian (2x3) of the projection at the (clamped) centre: rows j0, j1
  vec3 j0 = vec3(fx / t.z, 0.0, -fx * tx / (t.z * t.z));
  vec3 j1 = vec3(0.0, fy / t.z, -fy * ty / (t.z * t.z));
  vec3 Sj0 = Sc * j0, Sj1 = Sc * j1;
  float cxx = dot(j0, Sj0) + 0.3, cxy = dot(j0, Sj1), cyy = dot(j1, Sj1) + 0.3;
  float det = cxx * cyy - cxy * cxy;
  if (det <= 0.0) return;
  float ext = min(3.33, sqrt(2.0 * log(255.0 * op)));
  vec2 radius = ceil(ext * sqrt(vec2(cxx, cyy)));
  vec2 uv = vec2(fx * t.x / t.z + cx, fy * t.y / t.z + cy);
  if (uv.x + radius.x <= 0.0 || uv.x - radius.x >= u_size.x || uv.y + radius.y <= 0.0 || uv.y - radius.y >= u_size.y) return;
  vec2 corner = vec2(float(gl_VertexID & 1), float((gl_VertexID >> 1) & 1)) * 2.0 - 1.0;
  v_d = corner * radius;                          // pixel offset from the centre (u right, v down)
  vec2 px = uv + v_d;
  gl_Position = vec4(2.0 * px.x / u_size.x - 1.0, 1.0 - 2.0 * px.y / u_size.y, 0.0, 1.0);
  v_conic = vec3(cyy, -cxy, cxx) / det;
  v_color = D.yzw;
  v_opacity = op;
}`;

const FS = `#version 300 es
precision highp float;
in vec3 v_color;
in float v_opacity;
in vec3 v_conic;
in vec2 v_d;
out vec4 o_color;
void main() {
  float sigma = 0.5 * (v_conic.x * v_d.x * v_d.x + v_conic.z * v_d.y * v_d.y) + v_conic.y * v_d.x * v_d.y;
  if (sigma < 0.0) discard;
  float alpha = min(0.999, v_opacity * exp(-sigma));
  if (alpha < 1.0 / 255.0) discard;
  o_color = vec4(v_color * alpha, alpha);
}`;

const TEX_W = 2048;

function compile(gl, type, src) {
  const s = gl.createShader(type);
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s)}`);
  return s;
}

function dataTexture(gl, unit, internal, format, type, width, data) {
  const tex = gl.createTexture();
  gl.activeTexture(gl.TEXTURE0 + unit);
  gl.bindTexture(gl.TEXTURE_2D, tex);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  const height = Math.max(1, Math.ceil(data.length / 4 / width));
  const padded = new data.constructor(width * height * 4);
  padded.set(data);
  gl.texImage2D(gl.TEXTURE_2D, 0, internal, width, height, 0, format, type, padded);
  return { tex, width, height, unit, padded };
}

/** Interleave per-Gaussian channels into RGBA rows: cols = [[array, stride, offset] | number, x4]. */
function rgba(N, cols) {
  const out = new Float32Array(N * 4);
  for (let i = 0; i < N; i++) {
    for (let c = 0; c < 4; c++) {
      const col = cols[c];
      out[4 * i + c] = typeof col === 'number' ? col : col[0][col[1] * i + col[2]];
    }
  }
  return out;
}

export class SplatRenderer {
  /** canvas: HTMLCanvasElement; bundle: posing.loadBundle(...); localCov: posing.localCovariances(bundle). */
  constructor(canvas, bundle, localCov) {
    const gl = canvas.getContext('webgl2', { antialias: false, premultipliedAlpha: true, preserveDrawingBuffer: true,
      alpha: false, powerPreference: 'high-performance' });
    if (!gl) throw new Error('WebGL2 is not available in this browser');
    this.gl = gl;
    this.canvas = canvas;
    this.count = bundle.count;
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, VS));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, FS));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`link: ${gl.getProgramInfoLog(prog)}`);
    this.prog = prog;
    gl.useProgram(prog);
    const N = bundle.count;
    const sig = (x) => 1 / (1 + Math.exp(-x));
    const opac = new Float32Array(N);
    for (let i = 0; i < N; i++) opac[i] = sig(bundle.opacityLogits[i]);
    const faceF = Float32Array.from(bundle.faceIds);
    const col = new Float32Array(N * 3);
    for (let i = 0; i < 3 * N; i++) col[i] = Math.min(1, Math.max(0, bundle.colors[i]));
    const F32 = [gl.RGBA32F, gl.RGBA, gl.FLOAT, TEX_W];
    this.textures = {
      u_gA: dataTexture(gl, 0, ...F32, rgba(N, [[bundle.bary, 3, 1], [bundle.bary, 3, 2], [faceF, 1, 0], [opac, 1, 0]])),
      u_gB: dataTexture(gl, 1, ...F32, rgba(N, [[bundle.offsets, 3, 0], [bundle.offsets, 3, 1], [bundle.offsets, 3, 2], [localCov, 6, 5]])),
      u_gC: dataTexture(gl, 2, ...F32, rgba(N, [[localCov, 6, 0], [localCov, 6, 1], [localCov, 6, 2], [localCov, 6, 3]])),
      u_gD: dataTexture(gl, 3, ...F32, rgba(N, [[localCov, 6, 4], [col, 3, 0], [col, 3, 1], [col, 3, 2]])),
    };
    const F = bundle.numFaces;
    const faces4 = new Int32Array(F * 4);
    for (let f = 0; f < F; f++) for (let c = 0; c < 3; c++) faces4[4 * f + c] = bundle.faces[3 * f + c];
    this.textures.u_faces = dataTexture(gl, 4, gl.RGBA32I, gl.RGBA_INTEGER, gl.INT, TEX_W, faces4);
    this.verts4 = new Float32Array(bundle.numVertices * 4);
    this.textures.u_verts = dataTexture(gl, 5, ...F32, this.verts4);
    for (const [name, t] of Object.entries(this.textures)) gl.uniform1i(gl.getUniformLocation(prog, name), t.unit);
    this.loc = {};
    for (const u of ['u_w2c', 'u_K', 'u_size', 'u_near']) this.loc[u] = gl.getUniformLocation(prog, u);
    this.vao = gl.createVertexArray();
    gl.bindVertexArray(this.vao);
    this.indexBuffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.indexBuffer);
    gl.bufferData(gl.ARRAY_BUFFER, N * 4, gl.DYNAMIC_DRAW);
    const loc = gl.getAttribLocation(prog, 'a_index');
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribIPointer(loc, 1, gl.UNSIGNED_INT, 0, 0);
    gl.vertexAttribDivisor(loc, 1);
  }

  /** Upload posed vertices (Float32Array V*3). */
  setVertices(v) {
    const gl = this.gl;
    const n = v.length / 3;
    const p = this.textures.u_verts.padded;
    for (let i = 0; i < n; i++) { p[4 * i] = v[3 * i]; p[4 * i + 1] = v[3 * i + 1]; p[4 * i + 2] = v[3 * i + 2]; }
    const t = this.textures.u_verts;
    gl.activeTexture(gl.TEXTURE0 + t.unit);
    gl.bindTexture(gl.TEXTURE_2D, t.tex);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, t.width, t.height, gl.RGBA, gl.FLOAT, p);
  }

  /** Draw `visible` Gaussians in `order` (Uint32Array, back to front). w2c: OpenCV world->camera, row-major 16;
   * K: [fx, fy, cx, cy]; background: [r, g, b] in 0..1. */
  draw(order, visible, w2c, K, background, near = 0.01) {
    const gl = this.gl;
    const W = this.canvas.width;
    const H = this.canvas.height;
    gl.viewport(0, 0, W, H);
    gl.clearColor(background[0], background[1], background[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(this.prog);
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.indexBuffer);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, order, 0, visible);
    // GLSL mat4 is column-major: pass the transpose of the row-major matrix
    gl.uniformMatrix4fv(this.loc.u_w2c, true, Float32Array.from(w2c));
    gl.uniform4f(this.loc.u_K, K[0], K[1], K[2], K[3]);
    gl.uniform2f(this.loc.u_size, W, H);
    gl.uniform1f(this.loc.u_near, near);
    gl.disable(gl.DEPTH_TEST);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, visible);
  }
}
