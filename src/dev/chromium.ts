import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

// Headless Chromium from Debian's packages, driven by playwright-core (Playwright's own browser download
// needs the internet), for the browser tests and the dashboard benchmark. A missing browser is an error
// that says how to install it: nothing that needs a browser silently skips.

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// No internet here: whatever Chromium would fetch by itself only adds noise and delays.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: this needs Debian's chromium package (scripts/bootstrap.sh installs it as root; or apt-get install chromium; or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}
