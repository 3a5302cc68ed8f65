// Times the Visualise panel's interpolation path in headless Chromium: a linear sweep of
// POINTS points (default 21), no M³ samples, EXAMPLES examples per task, on DEVICE (cpu or
// auto = WebGPU on SwiftShader here). Run: node bench/sweep-timing.mjs (from www/, after make wasm).

import { chromium } from 'playwright-core';
import { serve } from '../tests/serve.mjs';
import { WWW, CHROMIUM, CHROMIUM_ARGS } from '../tests/eval-page.mjs';

const DEVICE = process.env.DEVICE ?? 'cpu';
const POINTS = Number(process.env.POINTS ?? 21);
const RUNS = Number(process.env.RUNS ?? 2);
const EXAMPLES = (process.env.EXAMPLES ?? '16').split(',').map(Number);

const server = await serve(WWW);
const browser = await chromium.launch({
  executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'],
});
try {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Open visualisation' }).click();
  await page.getByLabel('Sweep on').selectOption(DEVICE);
  for (const examples of EXAMPLES) {
    await page.getByLabel('Examples per task').fill(String(examples));
    await page.getByLabel('Points', { exact: true }).fill(String(POINTS));
    await page.getByLabel('Methods').fill('linear');
    await page.getByLabel('M³ samples').fill('0');
    const seconds = [];
    for (let run = 0; run < RUNS; run++) {
      await page.locator('#viz-path-figure').evaluate((el) => { delete el.dataset.report; });
      await page.getByRole('button', { name: 'Draw path' }).click();
      await page.waitForFunction(() => document.getElementById('viz-path-figure').dataset.report
        || document.getElementById('viz-error').textContent, null, { timeout: 1_800_000 });
      const error = await page.locator('#viz-error').textContent();
      if (error) throw new Error(error);
      seconds.push(Number(await page.locator('#viz-path-figure').getAttribute('data-seconds')));
    }
    const device = await page.locator('#viz-status').getAttribute('data-device');
    console.log(`${POINTS}-point linear path, ${examples} examples per task, ${device}: ` +
      `${seconds.map((s) => s.toFixed(2)).join(' s, ')} s`);
  }
} finally {
  await browser.close();
  await server.close();
}
