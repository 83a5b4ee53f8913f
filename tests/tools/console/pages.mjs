// Opens people-facing pages in Debian's headless Chromium at a phone width
// (360 px) and a desktop width, runs axe-core on each, measures horizontal
// overflow, and keeps a screenshot. One JSON line per page and width on
// stdout; the Rust test judges them.
//
//   node pages.mjs <plan.json>
//
// plan: {"out": dir, "pages": [{"name", "url", "form"?: {"fill": {selector: value}, "submit": selector}}],
//        "console": {"base", "token", "paths": [..]}?}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

/// axe-core's serious and critical findings, the page's overflow at this
/// width, and whether it asked any host other than the stack's.
async function judge(page, name, width) {
  // axe-core is evaluated over the DevTools protocol, which the page's CSP
  // does not govern (the pages allow no inline script).
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: `${plan.out}/${name}-${width}.png`, fullPage: true });
  say({ name, width, url: page.url(), violations: result, overflow, title: await page.title() });
}

async function visit(context, entry, width) {
  const page = await context.newPage();
  const foreign = [];
  page.on('request', (r) => {
    const host = new URL(r.url()).hostname;
    if (!['127.0.0.1', 'localhost'].includes(host) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  await page.setViewportSize({ width, height: 900 });
  await page.goto(entry.url, { waitUntil: 'networkidle' });
  if (entry.form) {
    for (const [selector, value] of Object.entries(entry.form.fill)) await page.fill(selector, value);
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle' }), page.click(entry.form.submit)]);
  }
  await judge(page, entry.name, width);
  if (foreign.length) say({ name: entry.name, width, foreign });
  await page.close();
}

for (const width of [360, 1280]) {
  const context = await browser.newContext({ locale: 'ja-JP' });
  for (const entry of plan.pages) await visit(context, entry, width);
  if (plan.console) {
    // Signed in through the login form, as an administrator would.
    const page = await context.newPage();
    await page.goto(`${plan.console.base}/console/login`);
    await page.fill('input[name=token]', plan.console.token);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    await page.close();
    for (const path of plan.console.paths) {
      await visit(context, { name: `console${path.replaceAll('/', '-')}`, url: `${plan.console.base}${path}` }, width);
    }
  }
  await context.close();
}
await browser.close();
