// Generates dist/sw.js with Workbox after Trunk has staged the hashed build.
// Precache only the app shell; API answers carry PHI and are never cached (no runtimeCaching).
import { generateSW } from 'workbox-build';

const dir = process.env.TRUNK_STAGING_DIR;
// The patient app is served at `/`, the ward board at `/ward/` (its own build and worker).
const base = process.env.TRUNK_PUBLIC_URL || '/';
if (!dir) {
  console.error('build-sw: TRUNK_STAGING_DIR is not set; run through `trunk build`.');
  process.exit(1);
}

const { count, size, warnings } = await generateSW({
  globDirectory: dir,
  globPatterns: ['**/*.{html,js,wasm,css,webmanifest,png}'],
  globIgnores: ['sw.js', 'sw-update.js'],
  swDest: `${dir}/sw.js`,
  mode: 'production',
  sourcemap: false,
  inlineWorkboxRuntime: true,
  // The app asks before a new version takes over (the "Reload" prompt).
  skipWaiting: false,
  clientsClaim: false,
  cleanupOutdatedCaches: true,
  navigateFallback: `${base}index.html`,
  // The root worker leaves the ward's pages to the ward's own worker.
  navigateFallbackDenylist: [/^\/api\//, /^\/v1\//, /^\/internal\//, /^\/healthz$/, ...(base === '/' ? [/^\/ward(\/|$)/] : [])],
  // Trunk's file names already carry a content hash.
  dontCacheBustURLsMatching: /-[0-9a-f]{16}(_bg)?\./,
  importScripts: [`${base}sw-update.js`],
  maximumFileSizeToCacheInBytes: 16 * 1024 * 1024,
});
for (const w of warnings) console.warn(`build-sw: ${w}`);
console.log(`build-sw: precaching ${count} files, ${size} bytes`);
