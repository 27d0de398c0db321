// Replaces the wasm and glue Trunk staged with a split build: the shell's main module, which
// holds what the first screen needs, and the chunks each `#[lazy]` split point loads when it
// is first called (a page, the signed-in session's engine). Trunk 0.21 cannot split a Leptos
// app (trunk-rs/trunk#1022), so this hook does what cargo-leptos does:
//
//   1. `cargo xtask split` cuts the linked wasm Trunk's cargo build left in the target dir
//      (linked with `--emit-relocs`, .cargo/config.toml) into main.wasm, the chunks and their
//      loader (`__wasm_split.js`);
//   2. wasm-bindgen writes the glue for main.wasm (`--keep-lld-exports`: the chunks link to
//      the main module's memory, table and stack pointer through its exports);
//   3. wasm-opt -Oz shrinks every module, terser the glue and the loader;
//   4. every file is named with one hash of the whole build (the glue and the loader import
//      each other, so neither can carry a hash of its own), and index.html is pointed at the
//      new glue and main wasm, with their integrity hashes.
//
// Runs after minify.mjs (which has minified and renamed Trunk's own glue) and before the
// worker's precache is written, so the precache holds every chunk.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sri, terse } from './glue.mjs';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('split: TRUNK_STAGING_DIR is not set; run through `trunk build`.');
  process.exit(1);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const targetDir = absolute(process.env.CARGO_TARGET_DIR || 'target');
const profile = process.env.TRUNK_PROFILE === 'debug' ? 'debug' : 'release';

const indexPath = join(dir, 'index.html');
let index = readFileSync(indexPath, 'utf8');

// What Trunk staged: the glue's and the wasm's URLs, as its loader script names them.
const glueUrl = index.match(/import init, \* as bindings from '([^']+)'/)?.[1];
const wasmUrl = index.match(/module_or_path: '([^']+)'/)?.[1];
if (!glueUrl || !wasmUrl) throw new Error('split: index.html has no Trunk loader script');
const [glueStaged, wasmStaged] = [basename(glueUrl), basename(wasmUrl)];
const bin = glueStaged.replace(/-[0-9a-f]{12,16}\.js$/, '');
const linked = join(targetDir, 'wasm32-unknown-unknown', profile, `${bin}.wasm`);

// Not under TMPDIR: xtask empties its scratch directory, which TMPDIR may be.
const work = join(targetDir, 'split', bin);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
try {
  execFileSync('cargo', ['xtask', 'split', linked, work, './__GLUE__'], { cwd: root, stdio: 'inherit' });
  execFileSync(
    'wasm-bindgen',
    ['--target', 'web', '--keep-lld-exports', '--out-dir', join(work, 'bg'), '--out-name', bin, join(work, 'main.wasm')],
    { stdio: 'inherit' },
  );
  const modules = [
    ['main', join(work, 'bg', `${bin}_bg.wasm`)],
    ...readdirSync(work)
      .filter((n) => n.endsWith('.wasm') && n !== 'main.wasm')
      .sort()
      .map((n) => [n.slice(0, -'.wasm'.length), join(work, n)]),
  ];
  const optimised = await optimise(modules);
  const glue = await terse(readFileSync(join(work, 'bg', `${bin}.js`), 'utf8'), 'the split glue');
  const loader = await terse(readFileSync(join(work, '__wasm_split.js'), 'utf8'), 'the chunk loader');

  // One name for the build: a hash of every byte it ships.
  const whole = createHash('sha256');
  for (const [name, bytes] of optimised) whole.update(name).update(bytes);
  const hash = whole.update(glue).update(loader).digest('hex').slice(0, 16);
  const glueName = `${bin}-${hash}.js`;
  const wasmName = `${bin}-${hash}_bg.wasm`;
  const loaderName = `__wasm_split-${hash}.js`;
  const chunkName = (name) => `${name}-${hash}.wasm`;

  // Only the import statements: the wasm still names its import module `./__wasm_split.js`.
  const glueOut = glue.replace(/from\s*(["'])\.\/__wasm_split\.js\1/g, `from"./${loaderName}"`);
  const loaderOut = loader
    .replaceAll('./__GLUE__', `./${glueName}`)
    .replace(/\.\/([A-Za-z0-9_]+)\.wasm/g, (_, name) => `./${chunkName(name)}`);
  if (glueOut === glue || loaderOut === loader) {
    throw new Error('split: the glue and the loader no longer name each other as expected');
  }
  let chunkBytes = 0;
  for (const [name, bytes] of optimised) {
    writeFileSync(join(dir, name === 'main' ? wasmName : chunkName(name)), bytes);
    if (name !== 'main') chunkBytes += bytes.length;
  }
  writeFileSync(join(dir, glueName), glueOut);
  writeFileSync(join(dir, loaderName), loaderOut);

  // Point the page at the split build: the loader script, the preloads and their integrity.
  const oldGlue = readFileSync(join(dir, glueStaged));
  const oldWasm = readFileSync(join(dir, wasmStaged));
  const mainWasm = optimised.find(([name]) => name === 'main')[1];
  index = index
    .replaceAll(sri(oldGlue), sri(glueOut))
    .replaceAll(sri(oldWasm), sri(mainWasm))
    .replaceAll(glueUrl, glueUrl.replace(glueStaged, glueName))
    .replaceAll(wasmUrl, wasmUrl.replace(wasmStaged, wasmName));
  // The glue imports the loader: fetched alongside it, not after it has been parsed.
  const gluePreload = index.match(/<link[^>]*rel="?modulepreload"?[^>]*>/)?.[0];
  if (!gluePreload) throw new Error('split: index.html has no modulepreload of the glue');
  const loaderUrl = glueUrl.replace(glueStaged, loaderName);
  index = index.replace(
    gluePreload,
    `${gluePreload}<link rel="modulepreload" crossorigin href="${loaderUrl}" integrity="${sri(loaderOut)}">`,
  );
  writeFileSync(indexPath, index);
  unlinkSync(join(dir, glueStaged));
  unlinkSync(join(dir, wasmStaged));
  console.log(
    `split: ${bin} main ${mainWasm.length} B, ${optimised.length - 1} chunks ${chunkBytes} B, glue ${glueOut.length} B, loader ${loaderOut.length} B`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** A `CARGO_TARGET_DIR` relative to the workspace root, as cargo reads it, or an absolute one. */
function absolute(path) {
  return path.startsWith('/') ? path : join(root, path);
}

/** wasm-opt -Oz on each module, two at a time (the machine has two cores). */
async function optimise(modules) {
  const run = promisify(execFile);
  const wasmOpt = join(root, 'node_modules', '.bin', 'wasm-opt');
  // The features rustc's wasm32 target enables by default; the split modules carry no
  // target_features section for wasm-opt to read them from.
  const features = [
    '--enable-bulk-memory',
    '--enable-nontrapping-float-to-int',
    '--enable-sign-ext',
    '--enable-mutable-globals',
    '--enable-reference-types',
    '--enable-multivalue',
  ];
  // CARESYNC_WASM_NAMES=1 keeps the function names, for a panic's stack that names them.
  const keepNames = process.env.CARESYNC_WASM_NAMES === '1' ? ['-g'] : [];
  const out = [];
  const queue = [...modules];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [name, path] = next;
      const optimisedPath = `${path}.opt`;
      await run(wasmOpt, ['-Oz', ...features, ...keepNames, path, '-o', optimisedPath]);
      out.push([name, readFileSync(optimisedPath)]);
    }
  };
  await Promise.all([worker(), worker()]);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
