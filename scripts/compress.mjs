// Precompresses the staged build after the service worker is written: each text or wasm file
// gets a `.br` (brotli, quality 11) and a `.gz` (gzip -9) beside it, which the server sends to
// a browser that asks for them (tower-http's precompressed ServeDir). Compressing once here
// costs nothing per request and beats on-the-fly levels. Node's own zlib: no extra package.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('compress: TRUNK_STAGING_DIR is not set; run through `trunk build`.');
  process.exit(1);
}

const worth = /\.(wasm|js|mjs|css|html|webmanifest|json)$/;

function* files(at) {
  for (const name of readdirSync(at)) {
    const path = join(at, name);
    if (statSync(path).isDirectory()) yield* files(path);
    // The workers are left as they are: an update check must always see the file itself.
    else if (worth.test(name) && !name.startsWith('sw')) yield path;
  }
}

let raw = 0;
let br = 0;
for (const path of files(dir)) {
  const bytes = readFileSync(path);
  const brotli = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  writeFileSync(`${path}.br`, brotli);
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
  raw += bytes.length;
  br += brotli.length;
}
console.log(`compress: ${raw} bytes of text and wasm, ${br} as brotli`);
