// The flags every headless run of Debian's Chromium here starts with (Playwright, Lighthouse):
// no sandbox (the tests run as root), no GPU, and none of Chromium's own background traffic,
// which this machine's closed network refuses.
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
