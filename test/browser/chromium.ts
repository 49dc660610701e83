/**
 * Debian's Chromium, as the browser tests and the viewer bench launch it (headless, no sandbox, nothing
 * fetched from the network by the browser itself). A test tool cannot download its own browser here.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
