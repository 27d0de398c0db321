// The static boot screen's one behaviour: if the app cannot start (its wasm did not download
// or would not compile), say so in words and offer a reload, instead of "Starting…" forever.
// Once the app has mounted it removes the boot screen, and its own errors are its own.
(() => {
  const fail = () => {
    const boot = document.getElementById('boot');
    if (!boot) return;
    const name = boot.querySelector('.brand')?.textContent ?? 'The app';
    const page = boot.querySelector('.page');
    page?.setAttribute('aria-busy', 'false');
    boot.querySelector('progress')?.remove();
    const status = boot.querySelector('[role=status]');
    if (status) status.textContent = `${name} could not start. Check the connection, then reload.`;
    if (page && !page.querySelector('button')) {
      const reload = document.createElement('button');
      reload.type = 'button';
      reload.textContent = 'Reload';
      reload.addEventListener('click', () => location.reload());
      page.append(reload);
    }
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
      fail();
    },
    true,
  );
  addEventListener('unhandledrejection', fail);
})();
