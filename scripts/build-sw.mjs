// Builds dist/sw.js after Trunk has staged the hashed build: scripts/sw/ (the shell's
// precache and routes, and the courier for Background Sync) is bundled with Workbox's modules
// and minified, then Workbox injects the precache manifest of the staged files into it.
// Precache only the app shell; API answers carry PHI and are never cached.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import replace from '@rollup/plugin-replace';
import terser from '@rollup/plugin-terser';
import { injectManifest } from 'workbox-build';

const dir = process.env.TRUNK_STAGING_DIR;
// The patient app is served at `/`, the ward board at `/ward/` (its own build and worker).
const base = process.env.TRUNK_PUBLIC_URL || '/';
if (!dir) {
  console.error('build-sw: TRUNK_STAGING_DIR is not set; run through `trunk build`.');
  process.exit(1);
}

const source = fileURLToPath(new URL('./sw/main.js', import.meta.url));
const bundled = join(dir, 'sw-bundled.js');
const bundle = await rollup({
  input: source,
  plugins: [
    replace({
      preventAssignment: true,
      values: { 'process.env.NODE_ENV': JSON.stringify('production'), __BASE__: JSON.stringify(base) },
    }),
    nodeResolve({ browser: true }),
    terser({ format: { comments: false } }),
  ],
});
await bundle.write({ file: bundled, format: 'iife' });
await bundle.close();

try {
  const { count, size, warnings } = await injectManifest({
    swSrc: bundled,
    swDest: join(dir, 'sw.js'),
    globDirectory: dir,
    // `html` takes index.html and the startup benchmark's static page (startup-probe.html).
    globPatterns: ['**/*.{html,js,wasm,css,webmanifest,png}'],
    globIgnores: ['sw.js', 'sw-bundled.js'],
    // Trunk's file names already carry a content hash.
    dontCacheBustURLsMatching: /-[0-9a-f]{16}(_bg)?\./,
    maximumFileSizeToCacheInBytes: 16 * 1024 * 1024,
  });
  for (const w of warnings) console.warn(`build-sw: ${w}`);
  console.log(`build-sw: precaching ${count} files, ${size} bytes`);
} finally {
  rmSync(bundled, { force: true });
}
