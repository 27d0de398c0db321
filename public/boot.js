// The static boot screen's behaviour: if the app cannot start (its wasm did not download or
// would not compile), say so in words and offer a reload, instead of "Starting…" forever.
// Once the app has mounted it removes the boot screen. From then on one error is still ours
// to name: the wasm trapping (a Rust panic aborts), after which the app no longer responds.
// The page says so and offers a reload rather than sitting there frozen; what the app saved
// to IndexedDB (the outbox, drafts) is read again on the reload.
(() => {
  const name = document.querySelector('#boot .brand')?.textContent ?? 'The app';
  const reloadButton = () => {
    const reload = document.createElement('button');
    reload.type = 'button';
    reload.textContent = 'Reload';
    reload.addEventListener('click', () => location.reload());
    return reload;
  };
  const stopped = (error) => {
    if (!(error instanceof WebAssembly.RuntimeError) || document.querySelector('.stopped')) return;
    const notice = document.createElement('div');
    notice.className = 'stopped';
    notice.setAttribute('role', 'alert');
    const words = document.createElement('p');
    words.textContent = `${name} stopped working. What it saved on this device is kept. Reload to go on.`;
    notice.append(words, reloadButton());
    document.body.prepend(notice);
  };
  const fail = (error) => {
    const boot = document.getElementById('boot');
    if (!boot) return stopped(error);
    const page = boot.querySelector('.page');
    page?.setAttribute('aria-busy', 'false');
    boot.querySelector('progress')?.remove();
    const status = boot.querySelector('[role=status]');
    if (status) status.textContent = `${name} could not start. Check the connection, then reload.`;
    if (page && !page.querySelector('button')) page.append(reloadButton());
  };
  // The glue failing to load (or its integrity check) is an error at its <script>, which
  // does not bubble: caught here, in the capture phase, for this origin's scripts only.
  // A script error from another origin (an extension, say) is not the app failing.
  addEventListener(
    'error',
    (event) => {
      const at = event.target;
      if (at instanceof HTMLScriptElement) {
        if (new URL(at.src, location.href).origin === location.origin) fail();
        return;
      }
      if (at !== window) return;
      if (event.filename && new URL(event.filename, location.href).origin !== location.origin) return;
      fail(event.error);
    },
    true,
  );
  addEventListener('unhandledrejection', (event) => fail(event.reason));
})();
