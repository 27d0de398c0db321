// Minifies the wasm-bindgen glue Trunk staged (its own minifier fails on it), then puts the
// new file's hash in index.html's integrity attribute so the browser still accepts it. Runs
// first in scripts/post-build.mjs: the worker's precache and the precompressed copies must
// see the minified file.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { minify } from 'terser';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('minify: TRUNK_STAGING_DIR is not set; run through `trunk build`.');
  process.exit(1);
}

const sri = (text) => `sha384-${createHash('sha384').update(text).digest('base64')}`;
const indexPath = join(dir, 'index.html');
let index = readFileSync(indexPath, 'utf8');

// The glue is the staged top-level script; the service worker is written after this.
for (const name of readdirSync(dir).filter((n) => n.endsWith('.js') && !n.startsWith('sw'))) {
  const path = join(dir, name);
  const source = readFileSync(path, 'utf8');
  const { code } = await minify(source, { module: true, ecma: 2020, compress: { passes: 2 } });
  if (!code) throw new Error(`minify: terser returned nothing for ${name}`);
  const [before, after] = [sri(source), sri(code)];
  if (index.includes(before)) index = index.replaceAll(before, after);
  writeFileSync(path, code);
  console.log(`minify: ${name} ${source.length} -> ${code.length} B`);
}
writeFileSync(indexPath, index);
