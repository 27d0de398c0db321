// What minify.mjs and split.mjs share for the scripts they stage: one terser setting and one
// integrity hash, so the two never drift apart.
import { createHash } from 'node:crypto';
import { minify } from 'terser';

/** The `integrity` attribute's value for `bytes` (SHA-384, as Trunk writes it). */
export const sri = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;

/** `source` (an ES module) minified; `what` names it if terser gives nothing back. */
export async function terse(source, what) {
  // unsafe_arrows: a function expression that uses neither `this` nor `arguments` becomes an
  // arrow (terser checks both). The glue never calls its functions with `new` or reads
  // their prototype, so nothing changes but 74-95 B of gzip.
  const { code } = await minify(source, { module: true, ecma: 2020, compress: { passes: 2, unsafe_arrows: true } });
  if (!code) throw new Error(`terser returned nothing for ${what}`);
  return code;
}
