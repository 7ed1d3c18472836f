// `npm run build`'s second half: bundles the operations console (src/ops/web, Preact and uPlot from
// npm) with esbuild into dist/ops-web, which the app serves at /ops. Nothing is fetched at run time:
// no CDN, one script and one stylesheet from the app's own origin (its Content-Security-Policy).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ops-web');
mkdirSync(join(out, 'assets'), { recursive: true });
await build({
  entryPoints: { console: join(root, 'src/ops/web/main.tsx') },
  outdir: join(out, 'assets'),
  bundle: true,
  format: 'esm',
  target: ['chrome120', 'firefox120', 'safari17'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(root, 'src/ops/web/index.html'), join(out, 'index.html'));
