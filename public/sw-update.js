// Lets the page promote a waiting service worker when the user presses "Reload".
// leptos-use posts a plain string; Workbox's own listener expects {type: 'SKIP_WAITING'}.
self.addEventListener('message', (event) => {
  if (event.data === 'SKIP_WAITING') {
    self.skipWaiting();
  }
});
