// Trunk's post-build steps, in the order they depend on each other: the glue is minified,
// the wasm is split into the shell and the chunks it loads on demand (with a new glue), the
// service worker's precache is written from the staged files, then every file is
// precompressed for the server.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

for (const step of ['minify.mjs', 'split.mjs', 'build-sw.mjs', 'compress.mjs']) {
  execFileSync(process.execPath, [fileURLToPath(new URL(`./${step}`, import.meta.url))], {
    stdio: 'inherit',
  });
}
