// Reads a safetensors file (8-byte little-endian header length, JSON header, raw little-endian data) into typed
// arrays. float16 tensors are widened to Float32Array; the JSON metadata written by gasp_ops.io.tensors is parsed.

const TYPES = {
  F32: Float32Array, F64: Float64Array, I32: Int32Array, I16: Int16Array, U16: Uint16Array, U8: Uint8Array,
  I8: Int8Array, U32: Uint32Array,
};

/** float16 bits -> float32 value. */
export function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 5.960464477539063e-8; // 2^-24
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const HALF_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = halfToFloat(i);
  return t;
})();

/** Parse an ArrayBuffer: { tensors: {name: {dtype, shape, data}}, meta (the "json" metadata, parsed) }. */
export function parseSafetensors(buffer) {
  const view = new DataView(buffer);
  const n = Number(view.getBigUint64(0, true));
  if (n <= 0 || n > buffer.byteLength - 8) throw new Error('not a safetensors file (bad header length)');
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, n)));
  const base = 8 + n;
  const tensors = {};
  let meta = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      meta = info && info.json ? JSON.parse(info.json) : {};
      continue;
    }
    const [begin, end] = info.data_offsets;
    const bytes = buffer.slice(base + begin, base + end); // aligned copy
    let data;
    if (info.dtype === 'F16') {
      const h = new Uint16Array(bytes);
      data = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) data[i] = HALF_TABLE[h[i]];
    } else if (TYPES[info.dtype]) {
      data = new TYPES[info.dtype](bytes);
    } else {
      throw new Error(`tensor ${name}: unsupported dtype ${info.dtype}`);
    }
    tensors[name] = { dtype: info.dtype, shape: info.shape, data };
  }
  return { tensors, meta };
}
