// The Evaluate and Visualise panels while `make serve` is still building the evaluation bundle:
// they say so, keep their buttons off, and start by themselves once pkg/eval-status.json says
// the build is over; a failed build names its log. The status file is stubbed per page.
//
// Needs: www/pkg with mixmerge_eval (make wasm-eval), /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { WWW, CHROMIUM, CHROMIUM_ARGS } from './eval-page.mjs';

// The panels look again every 10 s.
const POLL = 15_000;
let server, browser;

before(async () => {
  server = await serve(WWW);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/// A page whose pkg/eval-status.json answers `status()` (null: 404), bundle absent if `missing`.
async function pageWith(status, { missing = false } = {}) {
  const page = await browser.newPage();
  await page.route('**/pkg/eval-status.json', (route) => {
    const body = status();
    return body === null ? route.fulfill({ status: 404 }) : route.fulfill({ json: body });
  });
  if (missing) await page.route('**/pkg/mixmerge_eval.js', (route) => route.fulfill({ status: 404 }));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  return page;
}

const text = (page, id) => page.locator(`#${id}`).textContent();

test('Evaluate waits for a bundle that is building, then starts by itself', async () => {
  let status = { state: 'building', started: Math.floor(Date.now() / 1000) };
  const page = await pageWith(() => status);
  await page.getByRole('button', { name: 'Open evaluation' }).click();
  await page.waitForFunction(() => /still building/.test(document.getElementById('eval-model').textContent));
  assert.ok(await page.getByRole('button', { name: 'Load model' }).isDisabled(), 'Load model is off while building');
  status = { state: 'ready' };
  await page.waitForFunction(() => document.getElementById('eval-model').textContent === 'No model loaded yet.',
    null, { timeout: POLL });
  assert.ok(await page.getByRole('button', { name: 'Load model' }).isEnabled());
  await page.close();
});

test('a failed build names its log; a missing bundle says how to build it', async () => {
  const failed = await pageWith(() => ({ state: 'failed', log: '/tmp/wasm-eval.log' }), { missing: true });
  await failed.getByRole('button', { name: 'Open visualisation' }).click();
  await failed.waitForFunction(() => /failed to build/.test(document.getElementById('viz-status').textContent));
  assert.match(await text(failed, 'viz-status'), /\/tmp\/wasm-eval\.log/);
  await failed.close();

  const absent = await pageWith(() => null, { missing: true });
  await absent.getByRole('button', { name: 'Open evaluation' }).click();
  await absent.waitForFunction(() => /not built/.test(document.getElementById('eval-model').textContent));
  assert.match(await text(absent, 'eval-model'), /make wasm-eval/);
  await absent.close();
});

test('a bundle built without make serve (no status file) is used at once', async () => {
  const page = await pageWith(() => null);
  await page.getByRole('button', { name: 'Open evaluation' }).click();
  await page.waitForFunction(() => document.getElementById('eval-model').textContent === 'No model loaded yet.',
    null, { timeout: 5_000 });
  await page.close();
});
