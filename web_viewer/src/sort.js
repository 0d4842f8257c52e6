// Back-to-front order of Gaussians by camera depth: an LSD radix sort on 32-bit depth keys (two stable 16-bit
// counting passes, no comparisons). 32 bits matter: neighbouring Gaussians on a surface can sit within a micrometre
// of each other in depth, and a coarser key swaps them (visible where their colours differ).

const FULL = 4294967295;

function countingPass(keys, src, dst, n, shift, counts) {
  counts.fill(0);
  for (let j = 0; j < n; j++) counts[((keys[src[j]] >>> shift) & 0xffff) + 1]++;
  for (let k = 1; k < 65537; k++) counts[k] += counts[k - 1];
  for (let j = 0; j < n; j++) {
    const i = src[j];
    dst[counts[(keys[i] >>> shift) & 0xffff]++] = i;
  }
}

/**
 * means: Float32Array N*3 (world); w2c: OpenCV world->camera, row-major 16; out: Uint32Array N, filled far -> near
 * (ties: lower index first). Returns the number of Gaussians at depth >= near (listed first); the others follow.
 */
export function sortBackToFront(means, w2c, near, out, scratch) {
  const N = means.length / 3;
  if (!scratch.depth || scratch.depth.length < N) {
    scratch.depth = new Float64Array(N);
    scratch.keys = new Uint32Array(N);
    scratch.tmp = new Uint32Array(N);
    scratch.counts = new Uint32Array(65537);
  }
  const { depth, keys, tmp, counts } = scratch;
  const r0 = w2c[8]; const r1 = w2c[9]; const r2 = w2c[10]; const t = w2c[11];
  let lo = Infinity; let hi = -Infinity;
  for (let i = 0; i < N; i++) {
    const z = r0 * means[3 * i] + r1 * means[3 * i + 1] + r2 * means[3 * i + 2] + t;
    depth[i] = z;
    if (z >= near) { if (z < lo) lo = z; if (z > hi) hi = z; }
  }
  const span = hi > lo ? FULL / (hi - lo) : 0;
  let visible = 0;
  let behind = N;
  for (let i = 0; i < N; i++) {
    const z = depth[i];
    if (z < near) { out[--behind] = i; continue; }
    keys[i] = FULL - Math.min(FULL, Math.floor((z - lo) * span)); // far -> small key
    tmp[visible++] = i;
  }
  // behind-camera Gaussians were written from the end backwards: restore index order among them
  out.subarray(visible, N).reverse();
  countingPass(keys, tmp, out, visible, 0, counts);
  countingPass(keys, out, tmp, visible, 16, counts);
  out.set(tmp.subarray(0, visible));
  return visible;
}
