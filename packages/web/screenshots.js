'use strict';
// Writes the README's screenshots of the page (packages/web/docs/*.png): serves dist/ with the same
// server as `gradlens serve`, drives Debian's chromium (scripts/chromium.cjs), and runs Grad-CAM, guided
// backprop, LRP, Score-CAM and occlusion on a sample, then the tape with the LRP-ε preset, then the bundled ViT's
// transformer methods.
// Usage: node packages/web/screenshots.js  (after npm ci; needs /usr/bin/chromium or GRADLENS_CHROMIUM).
const fs = require('fs');
const path = require('path');
const { launchChromium } = require('../../scripts/chromium.cjs');
const { startStaticServer } = require(path.resolve(__dirname, '../cli/dist/commands/serve'));

const docs = path.join(__dirname, 'docs');

async function main() {
  fs.mkdirSync(docs, { recursive: true });
  const server = await startStaticServer(path.join(__dirname, 'dist'), 0);
  const { context, close } = await launchChromium({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]');
    await page.click('#samples img:nth-child(8)');
    await page.waitForFunction('document.body.dataset.busy === "0"');
    for (const m of ['scorecam', 'occlusion', 'ig']) await page.check(`#methods input[value="${m}"]`);
    await page.click('#run');
    await page.waitForFunction('window.gradlensPage.results.ig !== undefined && document.body.dataset.busy === "0"', undefined, {
      timeout: 120000,
    });
    await page.screenshot({ path: path.join(docs, 'page.png') });
    await page.click('#record');
    await page.waitForSelector('#rule-pickers select');
    await page.click('#presets button[data-preset="lrp-epsilon"]');
    await page.waitForFunction('window.gradlensPage.results.tape !== undefined && document.body.dataset.busy === "0"');
    const tape = await page.$('#explain');
    const box = await tape.boundingBox();
    const top = await page.$eval('#record', (b) => b.getBoundingClientRect().top + window.scrollY - 30);
    await page.screenshot({ path: path.join(docs, 'tape.png'), clip: { x: box.x, y: top, width: box.width, height: 760 }, fullPage: true });
    // the bundled ViT with its transformer methods (and Grad-CAM on its tokens laid on the patch grid)
    await page.selectOption('#model-select', 'vit');
    await page.waitForFunction('/^vit: /.test(document.getElementById("status").textContent) && document.body.dataset.busy === "0"');
    await page.click('#samples img:nth-child(8)');
    await page.waitForFunction('document.body.dataset.busy === "0"');
    const vitMethods = ['gradcam', 'rollout', 'generic-attention', 'transformer-attribution', 'transformer-lrp'];
    await page.evaluate((names) => {
      document.querySelectorAll('#methods input').forEach((i) => (i.checked = names.includes(i.value)));
    }, vitMethods);
    await page.click('#run');
    await page.waitForFunction(
      'window.gradlensPage.results["transformer-lrp"] !== undefined && document.body.dataset.busy === "0"',
      undefined,
      { timeout: 120000 },
    );
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(docs, 'vit.png') });
    console.log(`wrote ${path.join(docs, 'page.png')}, tape.png and vit.png`);
  } finally {
    await close();
    await server.close();
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
