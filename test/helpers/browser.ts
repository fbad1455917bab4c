/**
 * Headless Chromium for the dashboard test: Debian's `chromium` package driven by playwright-core
 * (no browser download). Each launch gets a fresh profile directory, removed on close. A missing
 * browser fails the test with the command that installs it, never a silent skip.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox', // tests often run as root in containers, where the sandbox cannot start
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserSession {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { width?: number; height?: number } = {}): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM))
    throw new Error(`launch browser: ${CHROMIUM} not found; install it with: bash scripts/setup.sh --test`);
  const profile = await mkdtemp(join(tmpdir(), 'lifeboat-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: opts.width ?? 1360, height: opts.height ?? 900 },
      timeout: 30_000,
    });
    return {
      context,
      close: async () => {
        await context.close().catch(() => {});
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}
