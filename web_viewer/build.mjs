// Builds the viewer into the Python package: ../gasp_viewer/static/{index.html, viewer.js}.
//   cd web_viewer && npm ci && npm run build        (node >= 20)
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
// --out DIR writes elsewhere (the test that checks the committed build against the sources uses it)
const at = process.argv.indexOf('--out');
const out = at > 0 ? process.argv[at + 1] : join(here, '..', 'gasp_viewer', 'static');
mkdirSync(out, { recursive: true });
// the sort worker, bundled first and inlined into viewer.js as a string (started from a Blob URL)
const worker = await build({
  entryPoints: [join(here, 'src', 'sort_worker.js')],
  bundle: true,
  format: 'iife',
  minify: true,
  target: ['es2020'],
  write: false,
});
await build({
  entryPoints: [join(here, 'src', 'main.js')],
  define: { __SORT_WORKER_SOURCE__: JSON.stringify(worker.outputFiles[0].text) },
  bundle: true,
  format: 'iife',
  minify: true,
  target: ['es2020'],
  legalComments: 'eof',
  outfile: join(out, 'viewer.js'),
});
copyFileSync(join(here, 'src', 'index.html'), join(out, 'index.html'));
console.log(`built ${out}`);
