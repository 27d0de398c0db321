// Minifies the wasm-bindgen glue Trunk staged (its own minifier fails on it), then puts the
// new file's hash in index.html's integrity attribute so the browser still accepts it. Runs
// first in scripts/post-build.mjs: the worker's precache and the precompressed copies must
// see the minified file.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sri, terse } from './glue.mjs';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('minify: TRUNK_STAGING_DIR is not set; run through `trunk build`.');
  process.exit(1);
}

const indexPath = join(dir, 'index.html');
let index = readFileSync(indexPath, 'utf8');

// The glue is the staged top-level script; the service worker is written after this.
for (const name of readdirSync(dir).filter((n) => n.endsWith('.js') && !n.startsWith('sw'))) {
  const path = join(dir, name);
  const source = readFileSync(path, 'utf8');
  const code = await terse(source, name);
  const [before, after] = [sri(source), sri(code)];
  // A page that pins the old bytes would refuse the new ones: stop rather than ship that.
  if (!index.includes(before)) {
    throw new Error(`minify: index.html holds no integrity hash of ${name} to update`);
  }
  // Trunk's hash in the name is of the unminified glue. The file is renamed for its new
  // content, so that a cache keyed by name (the worker's precache of hashed files, the
  // browser's immutable cache) never pairs old bytes with the new integrity, e.g. after a
  // terser upgrade with the wasm unchanged.
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const renamed = name.replace(/(-[0-9a-f]{12,16})?\.js$/, `-${hash}.js`);
  index = index.replaceAll(before, after).replaceAll(`/${name}`, `/${renamed}`);
  writeFileSync(join(dir, renamed), code);
  unlinkSync(path);
  console.log(`minify: ${name} ${source.length} B -> ${renamed} ${code.length} B`);
}
writeFileSync(indexPath, index);
