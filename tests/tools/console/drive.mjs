// Drives the Akashi admin console in headless Chromium, as an admin would:
// sign in (Japanese UI), create a rule with the builder, then — once the
// test has sent a completion (it writes a line to our stdin) — find the
// award and its explanation in the decision log, revoke it with a reason,
// and look at the rule's dry run. Prints one JSON line per step; the Rust
// test asserts on them and on the admin APIs.
//
// Then it uploads a badge class (with the image preview), creates a rule
// that needs approval from the JSON view, approves the decision once the
// test has sent the completion, and replays a dead letter the test planted.
//
// usage: node drive.mjs <console base URL> <admin token> <badge name> <course> <learner> <screenshot dir> <png> <second learner>

import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const [base, token, badgeName, course, learner, shots, png, learner2] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  page.setDefaultTimeout(15000);

  // A wrong token is refused on the page, in Japanese.
  await page.goto(`${base}/console/login?lang=ja`);
  await page.fill('#token', 'not-a-token');
  await page.click('#sign-in');
  const refused = await page.textContent('#login-error');
  say({ step: 'wrong_token', refused, lang: await page.getAttribute('html', 'lang') });

  await page.fill('#token', token);
  await page.click('#sign-in');
  await page.waitForURL(`${base}/console`);
  say({ step: 'signed_in', heading: await page.textContent('header .title') });

  // The builder: badge, name, course, minimum grade.
  await page.goto(`${base}/console/rules`);
  await page.selectOption('#badge_class_id', { label: badgeName });
  await page.fill('#rule-name', `${course} ≥ 0.8`);
  await page.selectOption('#kind_0', 'grade');
  await page.fill('#course_0', course);
  await page.fill('#min_0', '0.8');
  await page.click('#create-rule');
  await page.waitForURL(/\/console\/rules\/[0-9a-f-]{36}/);
  const ruleId = page.url().match(/rules\/([0-9a-f-]{36})/)[1];
  say({
    step: 'rule_created',
    rule_id: ruleId,
    name: await page.textContent('#rule-name'),
    version: await page.textContent('#rule-version'),
    msg: await page.textContent('#msg'),
    definition: JSON.parse(await page.inputValue('#rule-definition')),
  });

  // The test sends the completion now.
  await lines.next();

  // The award and why, in the decision log (reloaded until it appears).
  let why = [];
  for (let i = 0; i < 60 && why.length === 0; i++) {
    await page.goto(`${base}/console/decisions?learner=${encodeURIComponent(learner)}`);
    why = await page.$$eval(`tr.decision[data-learner="${learner}"] ul.why li`, (lis) => lis.map((li) => li.textContent.trim()));
    if (why.length === 0) await page.waitForTimeout(500);
  }
  const decidedRow = await page.textContent(`tr.decision[data-learner="${learner}"]`);
  await page.screenshot({ path: `${shots}/console-decisions-ja.png`, fullPage: true });
  say({ step: 'explained', why, row: decidedRow.replace(/\s+/g, ' ').trim() });

  // The award, then its revocation with a reason.
  let status = null;
  for (let i = 0; i < 60 && status === null; i++) {
    await page.goto(`${base}/console/awards?recipient=${encodeURIComponent(learner)}`);
    status = await page.getAttribute('tr.award', 'data-status').catch(() => null);
    if (status === null) await page.waitForTimeout(500);
  }
  const awardId = await page.getAttribute('tr.award', 'data-id');
  await page.fill('tr.award input[name=reason]', 'Issued in error (console test)');
  // Revocation asks for a confirmation: without the box ticked the form is
  // not sent (and the server refuses it too).
  await page.click('tr.award button.revoke');
  await page.waitForTimeout(300);
  const unconfirmed = await page.getAttribute('tr.award', 'data-status');
  if (unconfirmed !== status) throw new Error(`revoked without confirmation: ${unconfirmed}`);
  await page.check('tr.award input[name=confirm]');
  await page.click('tr.award button.revoke');
  await page.waitForSelector('#msg');
  const after = await page.getAttribute('tr.award', 'data-status');
  say({ step: 'revoked', award_id: awardId, before: status, after, row: (await page.textContent('tr.award')).replace(/\s+/g, ' ').trim() });

  // The rule's page in English: explanation for the learner and a dry run.
  await page.goto(`${base}/console/rules/${ruleId}?lang=en&learner=${encodeURIComponent(learner)}`);
  const explanation = (await page.textContent('#explanation')).replace(/\s+/g, ' ').trim();
  await page.click('#dry-run');
  await page.waitForSelector('#evaluation');
  const evaluation = (await page.textContent('#evaluation')).replace(/\s+/g, ' ').trim();
  await page.screenshot({ path: `${shots}/console-rule-en.png`, fullPage: true });
  say({ step: 'rule_page', lang: await page.getAttribute('html', 'lang'), explanation, evaluation });

  // The builder opens with the rule in it and saves a new version.
  const shownMin = await page.inputValue('#edit-with-builder #min_0');
  await page.fill('#edit-with-builder #min_0', '0.85');
  await page.click('#save-builder');
  await page.waitForSelector('#msg');
  say({ step: 'builder_edit', shown_min: shownMin, saved_min: await page.inputValue('#edit-with-builder #min_0') });

  // A refused action shows the API's own message.
  await page.goto(`${base}/console/rules`);
  await page.selectOption('#badge_class_id', { label: badgeName });
  await page.fill('#definition', '{"criteria": {"any": []}}');
  await page.click('#create-rule');
  say({ step: 'refused', error: (await page.textContent('#error')).trim(), code: await page.getAttribute('#error', 'data-code') });

  // A tree from the builder alone: any of two conditions, one domain.
  await page.goto(`${base}/console/rules`);
  await page.selectOption('#badge_class_id', { label: badgeName });
  await page.selectOption('#match', 'any');
  await page.selectOption('#kind_0', 'completed');
  await page.fill('#course_0', 'TREE-A');
  await page.selectOption('#kind_1', 'passed');
  await page.fill('#course_1', 'TREE-B');
  await page.fill('#email_domains', 'example.ac.jp');
  await page.screenshot({ path: `${shots}/console-rule-builder.png`, fullPage: true });
  await page.click('#create-rule');
  await page.waitForURL(/\/console\/rules\/[0-9a-f-]{36}/);
  say({ step: 'tree_built', definition: JSON.parse(await page.inputValue('#rule-definition')) });

  // A badge class with its image, previewed before upload.
  await page.goto(`${base}/console`);
  const issuer = page.locator('section.issuer').first();
  const form = issuer.locator('form.new-badge');
  await issuer.locator('details:has(form.new-badge) > summary').click();
  await form.locator('input[name=name]').fill('Console Badge');
  await form.locator('input[name=description]').fill('Made in the console');
  await form.locator('input[name=criteria]').fill('Approved by an admin');
  await form.locator('input[name=translation_name]').fill('コンソールのバッジ');
  await form.locator('input[name=translation_description]').fill('コンソールで作成');
  await form.locator('input[name=translation_criteria]').fill('管理者が承認');
  await form.locator('input[name=image]').setInputFiles(png);
  const preview = await issuer.locator('img.preview').evaluate((img) => ({ hidden: img.hidden, src: img.src }));
  await issuer.locator('form.new-badge button[type=submit]').click();
  await page.waitForSelector('#msg');
  const listed = await page.$$eval('section.issuer td strong', (s) => s.map((e) => e.textContent));
  say({ step: 'badge_created', preview, listed });

  // A rule that needs approval, from the JSON view (the new badge class
  // reaches the lms-adapter over the bus: retried until it has).
  let approvalRule = null;
  for (let i = 0; i < 40 && approvalRule === null; i++) {
    await page.goto(`${base}/console/rules`);
    await page.selectOption('#badge_class_id', { label: 'Console Badge' });
    await page.fill('#definition', JSON.stringify({ criteria: { completed: { course: 'APPROVE-101' } }, requires_approval: true }));
    await page.click('#create-rule');
    const m = page.url().match(/rules\/([0-9a-f-]{36})/);
    if (m) approvalRule = m[1]; else await page.waitForTimeout(250);
  }
  say({ step: 'approval_rule', rule_id: approvalRule });

  await lines.next(); // the test sends learner2's completion
  let pending = null;
  for (let i = 0; i < 60 && pending === null; i++) {
    await page.goto(`${base}/console/decisions?status=pending`);
    pending = await page.$(`tr.decision[data-learner="${learner2}"][data-status="pending"]`);
    if (pending === null) await page.waitForTimeout(500);
  }
  await page.fill(`tr.decision[data-learner="${learner2}"] input[name=note]`, 'Transcript checked');
  await page.click(`tr.decision[data-learner="${learner2}"] button.approve`);
  await page.waitForSelector('#msg');
  await page.goto(`${base}/console/decisions?learner=${encodeURIComponent(learner2)}`);
  const approved = await page.getAttribute(`tr.decision[data-learner="${learner2}"]`, 'data-status');
  const note = await page.textContent(`tr.decision[data-learner="${learner2}"]`);
  say({ step: 'approved', status: approved, has_note: note.includes('Transcript checked') });

  await lines.next(); // the test plants a dead letter
  let dead = null;
  for (let i = 0; i < 60 && dead === null; i++) {
    await page.goto(`${base}/console/dead-letters`);
    dead = await page.$('tr.letter[data-status="dead"]');
    if (dead === null) await page.waitForTimeout(500);
  }
  const letterId = await dead.getAttribute('data-id');
  await page.click(`tr.letter[data-id="${letterId}"] button.replay`);
  await page.waitForSelector('#msg');
  const replayed = await page.getAttribute(`tr.letter[data-id="${letterId}"]`, 'data-status');
  await page.screenshot({ path: `${shots}/console-dead-letters-en.png`, fullPage: true });
  say({ step: 'replayed', id: letterId, status: replayed });

  // A token for a colleague, by role, shown once.
  await page.goto(`${base}/console/team`);
  await page.fill('#token-name', 'registrar');
  await page.selectOption('#token-role', 'editor');
  await page.click('#mint-token');
  const minted = (await page.textContent('#new-token')).trim();
  const tokenListed = await page.getAttribute('tr.token[data-name="registrar"]', 'data-revoked');
  say({ step: 'minted', token: minted, listed: tokenListed });

  await lines.next(); // the test has used the token
  await page.goto(`${base}/console/team`);
  await page.click('tr.token[data-name="registrar"] button.revoke-token');
  await page.waitForSelector('#msg');
  say({ step: 'token_revoked', revoked: await page.getAttribute('tr.token[data-name="registrar"]', 'data-revoked') });
} finally {
  await browser.close();
}
// stdin stays open in readline's hands; leave explicitly.
process.exit(0);
