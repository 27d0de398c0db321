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
  addEventListener('error', fail);
  addEventListener('unhandledrejection', fail);
})();
