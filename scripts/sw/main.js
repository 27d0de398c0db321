// The app's service worker: the precached shell (Workbox, the manifest injected at build
// time), the navigation fallback, the "Reload" prompt's skip-waiting, and the courier that
// delivers sealed writes on Background Sync (courier.js). API answers are never cached: they
// carry PHI.
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { listenForSync } from './courier.js';

// Replaced at build time: `/` for the patient app, `/ward/` for the ward board.
const BASE = __BASE__;

// Registered first, so a precached page (index.html, the startup probe /startup-probe.html)
// is served as itself; the navigation fallback below only takes what the precache lacks.
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

const denylist = [/^\/api\//, /^\/v1\//, /^\/internal\//, /^\/healthz$/];
// The root worker leaves the ward's pages to the ward's own worker.
if (BASE === '/') denylist.push(/^\/ward(\/|$)/);
registerRoute(new NavigationRoute(createHandlerBoundToURL(`${BASE}index.html`), { denylist }));

// The app asks before a new version takes over: "Reload" posts this message.
self.addEventListener('message', (event) => {
  if (event.data === 'SKIP_WAITING' || event.data?.type === 'SKIP_WAITING') self.skipWaiting();
});

listenForSync(self);
