// Browser tests of `rct serve --demo`: Playwright (playwright-core, no bundled
// browser) driving Debian's Chromium.
//
//   node e2e/run.mjs http://127.0.0.1:8080/
//
// Environment:
//   RCT_E2E_URL          base URL (instead of the argument)
//   RCT_E2E_LOGINS       the demo logins as `rct serve --demo --json` prints them
//                        ([{user, password, role}]); default: <user>-demo-pw
//   RCT_E2E_SCREENSHOTS  folder for screenshots (default target/e2e-screenshots)
//   RCT_CHROMIUM         the browser (default /usr/bin/chromium)
//
// The scenarios run in order and share the participant the first one creates
// (the last two are the tour and every page at 1,280 and 390 px with axe-core):
//   1. a blinded investigator screens, consents, randomises and enters a visit;
//   2. a monitor raises a query that the investigator answers (and the monitor closes);
//   3. the investigator unblinds that participant in an emergency.
// Prints one line per scenario and closes with "N passed, N failed"; exit 1
// when any failed.

import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
// axe-core (npm): run in the page through the DevTools protocol, which the
// content security policy does not govern (a <script> tag would be blocked).
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const base = new URL(process.env.RCT_E2E_URL || process.argv[2] || 'http://127.0.0.1:8080/');
const shots = process.env.RCT_E2E_SCREENSHOTS || join(here, '..', 'target', 'e2e-screenshots');
const executablePath = process.env.RCT_CHROMIUM || '/usr/bin/chromium';
const logins = JSON.parse(process.env.RCT_E2E_LOGINS || '[]');
mkdirSync(shots, { recursive: true });

const TRIAL = 'lupex';
// LUPEX arm labels (protocols/lupex.toml): a blinded role must never see them.
const ARM_LABELS = ['Exercise (HIIT)', 'Non-exercise (standard care)'];
// A fresh screening number each run, so the tests can run against any demo database.
const PID = `E2E-${Date.now().toString(36).toUpperCase()}`;

const url = (path) => new URL(path, base).toString();
const password = (user) => (logins.find((l) => l.user === user) || {}).password || `${user}-demo-pw`;

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function text(page) {
  return page.locator('body').innerText();
}

/** Fails when the page shows any LUPEX arm label. */
async function assertBlind(page, where) {
  const html = await page.content();
  for (const label of ARM_LABELS) {
    check(!html.includes(label), `${where}: a blinded investigator sees the arm label "${label}"`);
  }
}

/** A new browser context logged in as `user`. */
async function login(browser, user, { screenshot } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const jsErrors = [];
  page.on('pageerror', (e) => jsErrors.push(String(e)));
  // The content security policy's refusals are console errors: none allowed.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) jsErrors.push(m.text());
  });
  page.jsErrors = jsErrors;
  await page.goto(url('/login'));
  await page.fill('#user', user);
  await page.fill('#password', password(user));
  if (screenshot) await shot(page, screenshot);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]:has-text("Log in")')]);
  check(!page.url().endsWith('/login'), `${user} could not log in: ${await text(page)}`);
  return { context, page };
}

async function submit(page, buttonText) {
  await Promise.all([page.waitForNavigation(), page.click(`button:has-text("${buttonText}")`)]);
}

/** Eligible LUPEX screening facts (every criterion decided). */
const ELIGIBLE = {
  birth_date: '1985-06-15',
  sex: 'female',
  able_to_consent: 'true',
  sle_diagnosed: 'true',
  eular_acr_2019_classified: 'true',
  slicc_2012_classified: 'false',
  exercise_contraindicated: 'false',
  major_bone_fracture: 'false',
  exercise_exacerbated_myalgia: 'false',
  active_infection: 'false',
  severe_pleuritis_pericarditis: 'false',
  prednisolone_dose: '7.5',
  diabetes_diagnosed: 'false',
  pregnant: 'false',
  sledai_2k_selena: '4',
  pet_substudy: 'false',
};

async function fillFacts(page, facts) {
  for (const [id, value] of Object.entries(facts)) {
    const el = page.locator(`#fact-${id}`);
    const tag = await el.evaluate((e) => e.tagName);
    if (tag === 'SELECT') await el.selectOption(value);
    else await el.fill(value);
  }
}

async function verdict(page) {
  return ((await page.locator('#verdict').textContent()) || '').trim();
}

// ---- scenarios ---------------------------------------------------------------

async function investigatorEnrolsAndEntersAVisit(browser) {
  const { context, page } = await login(browser, 'investigator', { screenshot: '01-login' });
  try {
    await page.goto(url(`/t/${TRIAL}`));
    await shot(page, '02-dashboard');
    await assertBlind(page, 'dashboard');
    // The menu offers an investigator what an investigator may do, and no more.
    const menu = await page.locator('nav.trial a').allTextContents();
    check(menu.includes('Screen') && menu.includes('Queries'), `investigator menu: ${menu}`);
    check(!menu.includes('Database lock') && !menu.includes('Users and roles'), `investigator menu offers lock/users: ${menu}`);

    // Screening: the verdict follows the facts live.
    await page.goto(url(`/t/${TRIAL}/screen`));
    await page.fill('#pid', PID);
    await fillFacts(page, { ...ELIGIBLE, diabetes_diagnosed: 'true' });
    await page.waitForFunction(() => document.getElementById('verdict').textContent.trim() === 'ineligible');
    // A met exclusion excludes: red, with the reason summarised.
    check((await page.locator('#crit-E3').textContent()).trim() === 'met (excludes)', 'E3 (diabetes) should show as met, excluding');
    check((await page.getAttribute('#crit-E3', 'class')) === 'excludes', 'E3 is coloured as excluding');
    check((await page.locator('#why-excluded').textContent()).includes('Excluded because: E3'), 'the summary names E3');
    await fillFacts(page, { diabetes_diagnosed: 'false' });
    await page.waitForFunction(() => document.getElementById('verdict').textContent.trim() === 'eligible');
    check((await verdict(page)) === 'eligible', 'live verdict');
    // A fact that does not read is said so beside it, and the verdict waits for it.
    await page.fill('#fact-prednisolone_dose', 'a lot');
    await page.waitForFunction(() => document.getElementById('fact-msg-prednisolone_dose').textContent.includes('not a number'));
    await page.waitForFunction(() => document.getElementById('verdict').textContent.trim() === 'incomplete');
    await page.fill('#fact-prednisolone_dose', '7.5');
    await page.waitForFunction(() => document.getElementById('fact-msg-prednisolone_dose').textContent.trim() === '');
    await page.waitForFunction(() => document.getElementById('verdict').textContent.trim() === 'eligible');
    await shot(page, '03-screening');
    await submit(page, 'Record screening');
    check(page.url().endsWith(`/t/${TRIAL}/p/${PID}`), `after screening: ${page.url()}`);
    check((await text(page)).includes('eligible on'), 'participant page shows the screening');

    // Consent, then randomise.
    await submit(page, 'Record informed consent');
    check((await text(page)).includes('given'), 'consent recorded');
    await Promise.all([page.waitForNavigation(), page.click(`a[href$="/p/${PID}/randomise"]`)]);
    // The stratum is the record's, read from the screening facts: shown, never asked for.
    const stratum = (await page.locator('dl.stratum').innerText()).replace(/\s+/g, ' ').trim();
    check(stratum === 'sex female', `stratum shown from the screening: ${stratum}`);
    check((await page.locator('#st-sex').count()) === 0, 'the stratum is not asked for');
    await submit(page, 'Randomise now');
    const result = await text(page);
    check(result.includes(`${PID} is randomised`), `randomisation result: ${result}`);
    check(result.includes('The allocation is concealed from you.'), 'blinded result says the allocation is concealed');
    await assertBlind(page, 'randomisation result');
    await shot(page, '05-randomised');

    // The participant page: visit schedule, no arm.
    await page.goto(url(`/t/${TRIAL}/p/${PID}`));
    check((await page.locator('h2:has-text("Visit schedule")').count()) === 1, 'visit schedule shown');
    check((await page.locator('table tbody tr').first().locator('td').count()) >= 4, 'schedule rows');
    await assertBlind(page, 'participant page');
    await shot(page, '04-participant');

    // Data entry at baseline: hard range refuses, derived BMI computed as typed.
    await Promise.all([page.waitForNavigation(), page.click(`a[href$="/p/${PID}/visit/baseline/demographics"]`)]);
    await page.fill('#field-weight', '300');
    await page.fill('#field-height', '175');
    await submit(page, 'Save');
    const refused = await text(page);
    check(refused.includes('Nothing was saved'), `weight 300 kg must be refused: ${refused}`);
    // A hard range refuses as the value is typed; the message goes once the value is valid.
    await page.fill('#field-weight', '300');
    await page.waitForFunction(() => document.getElementById('msg-weight').textContent.includes('hard range'));
    check((await page.getAttribute('#field-weight', 'aria-invalid')) === 'true', 'a refused value is marked invalid');
    await page.fill('#field-weight', '70');
    await page.waitForFunction(() => document.getElementById('msg-weight').textContent.trim() === '');
    check((await page.getAttribute('#field-weight', 'aria-invalid')) === null, 'a valid value is not marked invalid');
    // A soft range warns as the value is typed (160 kg: outside 40-150, accepted), and clears too.
    await page.fill('#field-weight', '160');
    await page.waitForFunction(() => document.getElementById('msg-weight').textContent.includes('expected range'));
    await page.fill('#field-weight', '70');
    await page.waitForFunction(() => document.getElementById('msg-weight').textContent.trim() === '');
    await page.fill('#field-height', '175');
    // 70 / 1.75^2 = 22.857 kg/m^2, shown to the field's two decimals.
    await page.waitForFunction(() => document.getElementById('derived-bmi').textContent.trim() === '22.86');
    await shot(page, '06-data-entry');
    await submit(page, 'Save');
    const saved = await text(page);
    check(/Saved \d+ change/.test(saved), `save: ${saved}`);
    check((await page.inputValue('#field-weight')) === '70', 'saved weight shown as typed');
    check((await page.locator('#derived-bmi').textContent()).trim() === '22.86', 'saved BMI shown rounded');
    await assertBlind(page, 'data entry');

    // A change to a saved value needs a reason; the field's history is one click away.
    await page.fill('#field-weight', '72');
    // The browser asks for the reason before sending ...
    await page.waitForFunction(() => document.getElementById('reason').required);
    check((await page.locator('#reason-hint').textContent()).includes('required'), 'the reason is said to be required');
    await page.click('button:has-text("Save")');
    check(await page.$eval('#reason', (e) => e.validity.valueMissing), 'the form is not sent without a reason');
    // ... and the server refuses it too, for a browser that sends it anyway.
    await page.$eval('#reason', (e) => { e.required = false; });
    await page.$eval('form[data-live-derive]', (f) => f.setAttribute('novalidate', ''));
    await submit(page, 'Save');
    check((await text(page)).includes('needs a reason'), 'a change without a reason is refused');
    await page.fill('#field-weight', '72');
    await page.fill('#reason', 'Weighed again: scale was not zeroed');
    await submit(page, 'Save');
    check(/Saved \d+ change/.test(await text(page)), 'the change with a reason is saved');
    // 72 / 1.75^2 = 23.510 kg/m^2
    check((await page.locator('#derived-bmi').textContent()).trim() === '23.51', 'changed BMI shown rounded');
    await Promise.all([page.waitForNavigation(), page.click('a[href$="/demographics/weight/history"]')]);
    const history = await text(page);
    check(history.includes('History of Body weight'), `history page: ${history}`);
    check(history.includes('Weighed again: scale was not zeroed') && /\b70\b/.test(history) && /\b72\b/.test(history),
      `the history shows both values and the reason: ${history}`);
    await shot(page, '06b-field-history');
    check(page.jsErrors.length === 0, `script errors: ${page.jsErrors.join('; ')}`);
  } finally {
    await context.close();
  }
}

const QUESTION = `Please confirm the body weight of ${PID} against the source document.`;
const ANSWER = 'Checked against the source: 70 kg.';

async function monitorRaisesAQueryTheInvestigatorAnswers(browser) {
  {
    const { context, page } = await login(browser, 'monitor');
    try {
      await page.goto(url(`/t/${TRIAL}/p/${PID}`));
      await page.fill('#q-item', 'baseline/demographics/weight');
      await page.fill('#q-text', QUESTION);
      await submit(page, 'Raise query');
      check(page.url().endsWith(`/t/${TRIAL}/queries`), `after raising: ${page.url()}`);
      check((await text(page)).includes(QUESTION), 'the query is listed');
      await shot(page, '07-queries');
    } finally {
      await context.close();
    }
  }
  let queryId;
  {
    const { context, page } = await login(browser, 'investigator');
    try {
      await page.goto(url(`/t/${TRIAL}/queries`));
      const row = page.locator('tr', { hasText: QUESTION });
      check((await row.count()) === 1, 'the investigator sees the query');
      queryId = ((await row.locator('td').first().textContent()) || '').trim();
      await row.locator('input[name=text]').fill(ANSWER);
      await Promise.all([page.waitForNavigation(), row.locator('button:has-text("Answer")').click()]);
      const answered = page.locator('tr', { hasText: QUESTION });
      check((await answered.innerText()).includes(ANSWER), 'the answer is listed with the query');
      await shot(page, '08-query-answered');
    } finally {
      await context.close();
    }
  }
  {
    const { context, page } = await login(browser, 'monitor');
    try {
      await page.goto(url(`/t/${TRIAL}/queries`));
      const row = page.locator('tr', { hasText: QUESTION });
      check((await row.innerText()).includes(ANSWER), 'the monitor sees the answer');
      await Promise.all([page.waitForNavigation(), row.locator(`button:has-text("Close ${queryId}")`).click()]);
      check((await page.locator('tr', { hasText: QUESTION }).count()) === 0, 'a closed query leaves the open list');
    } finally {
      await context.close();
    }
  }
}

async function emergencyUnblinding(browser) {
  const { context, page } = await login(browser, 'investigator');
  try {
    await page.goto(url(`/t/${TRIAL}/p/${PID}`));
    await assertBlind(page, 'participant page before unblinding');
    await Promise.all([page.waitForNavigation(), page.click(`a[href$="/p/${PID}/unblind"]`)]);
    await shot(page, '09-unblind');
    // A wrong password reveals nothing.
    await page.fill('#reason', 'Severe adverse event: treating physician needs the allocation.');
    await page.fill('#password', 'not-my-password');
    await submit(page, 'Reveal the allocation');
    const refused = await text(page);
    check(refused.includes('password is wrong'), `wrong password: ${refused}`);
    await assertBlind(page, 'refused unblinding');
    // The right one reveals this participant's arm to this user.
    await page.goto(url(`/t/${TRIAL}/p/${PID}/unblind`));
    await page.fill('#reason', 'Severe adverse event: treating physician needs the allocation.');
    await page.fill('#password', password('investigator'));
    await submit(page, 'Reveal the allocation');
    const revealed = await text(page);
    check(revealed.includes('revealed to you by emergency unblinding'), `unblinded page: ${revealed}`);
    check(ARM_LABELS.some((l) => revealed.includes(l)), 'the arm is shown after unblinding');
    await shot(page, '10-unblinded');
  } finally {
    await context.close();
  }
  // Administrators see the code-break on the dashboard.
  const admin = await login(browser, 'admin');
  try {
    await admin.page.goto(url(`/t/${TRIAL}`));
    const dash = await text(admin.page);
    check(dash.includes('Emergency unblindings') && dash.includes(PID), `admin dashboard: ${dash}`);
    await shot(admin.page, '11-admin-dashboard');
  } finally {
    await admin.context.close();
  }
}


// ---- every page: accessibility, phones, screenshots ---------------------------

/** axe-core's serious and critical violations on the page, as text. */
async function axeViolations(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Checks the page as it stands at 1,280 and 390 px: axe-core finds no
 * serious or critical violation, the page does not scroll sideways at 390
 * px (wide tables scroll in their own box), and a screenshot at each width.
 */
async function checkPage(page, name, problems) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.reload();
    const bad = await axeViolations(page);
    for (const v of bad) problems.push(`${name} at ${width} px: axe ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > width) problems.push(`${name} at ${width} px: the page is ${wide} px wide`);
    await shot(page, `page-${name}-${width}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** The pages each login reaches, by name and path. */
function pagesOf(user) {
  const t = `/t/${TRIAL}`;
  const p = `${t}/p/${PID}`;
  const common = [
    ['home', '/'],
    ['dashboard', t],
    ['participants', `${t}/participants`],
    ['status', `${t}/status`],
    ['participant', p],
    ['casebook', `${p}/casebook`],
    ['form', `${p}/visit/baseline/demographics`],
    ['field-history', `${p}/visit/baseline/demographics/weight/history`],
    ['queries', `${t}/queries`],
    ['queries-closed', `${t}/queries?status=closed`],
    ['audit', `${t}/audit`],
    ['audit-participant', `${t}/audit?participant=${PID}`],
  ];
  const extra = {
    investigator: [['screen', `${t}/screen`], ['unblind', `${p}/unblind`]],
    datamanager: [['lock', `${t}/lock`]],
    admin: [['admin', `${t}/admin`]],
    statistician: [['governance', `${t}/governance`]],
    assessor: [['form-cpet', `${p}/visit/baseline/cpet`]],
    dmc: [['dmc', `${t}/dmc`]],
  };
  return common.concat(extra[user] || []);
}

async function everyPageIsAccessibleAndFitsAPhone(browser) {
  const problems = [];
  {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(url('/login'));
    await checkPage(page, 'login', problems);
    await context.close();
  }
  for (const user of ['investigator', 'monitor', 'assessor', 'datamanager', 'admin', 'statistician', 'physio', 'dmc']) {
    const { context, page } = await login(browser, user);
    try {
      for (const [name, path] of pagesOf(user)) {
        const res = await page.goto(url(path));
        check(res && res.status() < 500, `${user} ${path}: ${res && res.status()}`);
        await checkPage(page, `${user}-${name}`, problems);
      }
      check(page.jsErrors.length === 0, `${user}: script or CSP errors: ${page.jsErrors.join('; ')}`);
    } finally {
      await context.close();
    }
  }
  check(problems.length === 0, `\n  ${problems.join('\n  ')}`);
}

async function monitorVerifiesAndPiSigns(browser) {
  const form = `/t/${TRIAL}/p/${PID}/visit/baseline/demographics`;
  {
    const { context, page } = await login(browser, 'monitor');
    try {
      await page.goto(url(form));
      await submit(page, 'Verify against the source');
      check((await page.locator('#sdv-status').textContent()).includes('Verified by monitor'), 'the form is verified');
      await page.goto(url(`/t/${TRIAL}/status`));
      const row = page.locator('tr', { hasText: PID });
      check((await row.locator('td.status-verified').count()) >= 1, 'the grid shows the form verified');
    } finally {
      await context.close();
    }
  }
  {
    const { context, page } = await login(browser, 'investigator');
    try {
      await page.goto(url(`/t/${TRIAL}/p/${PID}/casebook`));
      await page.fill('#sig-user', 'investigator');
      await page.fill('#sig-password', password('investigator'));
      await submit(page, 'Sign the casebook');
      const book = await text(page);
      check(book.includes('Signed by') && book.includes('Date and time:') && book.includes('Meaning: Approval'), `manifestation: ${book}`);
      check((await page.locator('#signature-state').textContent()).includes('Current'), 'the signature is current');
      await shot(page, '12-casebook-signed');
      // A later change marks the signature for renewal.
      await page.goto(url(form));
      await page.fill('#field-weight', '71');
      await page.fill('#reason', 'Source document re-read');
      await submit(page, 'Save');
      await page.goto(url(`/t/${TRIAL}/p/${PID}/casebook`));
      check((await page.locator('#signature-state').textContent()).includes('Needs renewal'), 'a later change asks for renewal');
      await shot(page, '13-casebook-renewal');
    } finally {
      await context.close();
    }
  }
}

async function auditTableFilters(browser) {
  const { context, page } = await login(browser, 'monitor');
  try {
    await page.goto(url(`/t/${TRIAL}/audit`));
    await page.fill('#a-participant', PID);
    await Promise.all([page.waitForNavigation(), page.click('button:has-text("Show")')]);
    const rows = page.locator('table.audit tbody tr');
    const n = await rows.count();
    check(n > 0, 'entries about the participant');
    for (let i = 0; i < n; i += 1) check((await rows.nth(i).innerText()).includes(PID), `row ${i} names ${PID}`);
    await page.goto(url(`/t/${TRIAL}/audit`));
    await page.selectOption('#a-user', 'investigator');
    await Promise.all([page.waitForNavigation(), page.click('button:has-text("Show")')]);
    const byUser = page.locator('table.audit tbody tr');
    const m = await byUser.count();
    check(m > 0, 'entries by the investigator');
    for (let i = 0; i < m; i += 1) check((await byUser.nth(i).locator('td').nth(2).innerText()).startsWith('investigator'), `row ${i} by the investigator`);
    // The raw entry is one click away.
    await byUser.first().locator('summary').click();
    check((await byUser.first().locator('pre').innerText()).includes('"seq"'), 'the raw entry opens');
    await shot(page, '14-audit-filtered');
  } finally {
    await context.close();
  }
}

async function tourFixes(browser) {
  // A refusal keeps the menu and what was typed, and links back.
  {
    const { context, page } = await login(browser, 'datamanager');
    try {
      await page.goto(url(`/t/${TRIAL}/lock`));
      await page.fill('#reason', 'Close-out visit done');
      await page.fill('#confirm', 'not the trial id');
      await submit(page, 'Lock the database');
      const body = await text(page);
      check(body.includes('Close-out visit done'), 'the typed reason is shown again');
      check((await page.locator('nav.trial').count()) === 1, 'the menu stays');
      await Promise.all([page.waitForNavigation(), page.click('#back')]);
      check(page.url().endsWith(`/t/${TRIAL}/lock`), `back to the form: ${page.url()}`);
    } finally {
      await context.close();
    }
  }
  // Revoking a role asks first.
  {
    const { context, page } = await login(browser, 'admin');
    try {
      await page.goto(url(`/t/${TRIAL}/admin`));
      await Promise.all([page.waitForNavigation(), page.locator('button', { hasText: 'Revoke Administrator' }).first().click()]);
      check((await text(page)).includes('Revoke a role?'), 'asks for confirmation');
      await submit(page, 'Yes, revoke');
      check((await text(page)).includes('last administrator'), 'the last administrator is kept');
      check((await page.locator('nav.trial').count()) === 1, 'the refusal keeps the menu');
    } finally {
      await context.close();
    }
  }
  // Role labels from the protocol; the enrolment bar needs no inline style.
  {
    const { context, page } = await login(browser, 'physio');
    try {
      await page.goto(url(`/t/${TRIAL}`));
      check((await text(page)).includes('Exercise physiologist'), 'the protocol role label');
      check((await page.locator('progress').count()) === 1, 'enrolment is a progress element');
      check(page.jsErrors.length === 0, `CSP or script errors: ${page.jsErrors.join('; ')}`);
    } finally {
      await context.close();
    }
  }
}

// ---- harness -----------------------------------------------------------------

const scenarios = [
  ['a blinded investigator screens, consents, randomises and enters a visit', investigatorEnrolsAndEntersAVisit],
  ['a monitor raises a query that the investigator answers', monitorRaisesAQueryTheInvestigatorAnswers],
  ['a monitor verifies a form, the investigator signs, a change asks for renewal', monitorVerifiesAndPiSigns],
  ['the audit table filters by participant and by user', auditTableFilters],
  ['the tour\'s fixes: refusals, revoking, labels, enrolment bar', tourFixes],
  ['every page: axe-core, 390 px, screenshots', everyPageIsAccessibleAndFitsAPhone],
  ['an emergency unblinding', emergencyUnblinding],
];

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
let passed = 0;
let failed = 0;
try {
  for (const [name, run] of scenarios) {
    const t0 = Date.now();
    try {
      await run(browser);
      passed += 1;
      console.log(`ok - ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed += 1;
      console.log(`not ok - ${name}: ${e && e.stack ? e.stack : e}`);
    }
  }
} finally {
  await browser.close();
}
console.log(`screenshots in ${shots}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
