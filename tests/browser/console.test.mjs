// The supervision console in a real browser (Debian Chromium driven by playwright-core) against
// a real server process, with simulated phones syncing over real HTTP. Run by tests/browser/run.sh.
//
// A supervisor signs in, marks a duplicate with the picker, registers and dispatches a case that a
// phone reported, bulk-dispatches another; the unit's phone receives it on sync, acknowledges and
// rectifies with an after-photo; the supervisor sees before/after side by side and verifies; the
// ranking's closed count for the unit goes up; the XLSX exports hold the right rows. Unit staff
// rectify from the browser with a photo upload. Every page is saved as a screenshot.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ART, PHONES, URL, act, phone, screenshot, shots, signIn as signInAs, step, submit } from "./kit.mjs";
import { launch } from "./launch.mjs";

/** The rows of every sheet of a downloaded workbook. */
function xlsxRows(path) {
  const json = execFileSync("python3", [new globalThis.URL("./xlsx_rows.py", import.meta.url).pathname, path], {
    encoding: "utf8",
  });
  return JSON.parse(json);
}

const browser = await launch();

async function signIn(user, locale = "zh-CN") {
  return signInAs(browser, user, { locale });
}

try {
  step("phones report three cases offline and sync");
  const a = phone("inspector1", "report", "--description", "农贸市场门口垃圾堆放", "--site", "s1")[0];
  const dup = phone("inspector2", "report", "--description", "市场门口有一堆垃圾（重复上报）", "--site", "s1")[0];
  const c = phone("inspector1", "report", "--description", "背街小巷乱堆杂物", "--site", "s2")[0];

  step("sign-in page, then the supervisor's queue");
  {
    const ctx = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 800 } });
    const p = await ctx.newPage();
    await p.goto(`${URL}/console/login`);
    await screenshot(p, "login");
    await p.fill("#user", "supervisor1");
    await p.fill("#password", "wrong");
    await p.click("button[type=submit]");
    assert.match(await p.locator(".msg.err").innerText(), /用户名或密码错误/);
    await ctx.close();
  }
  const sup = await signIn("supervisor1");
  let page = sup.page;
  for (const id of [a, dup, c]) {
    assert.equal(await page.locator(`tr[data-case="${id}"]`).count(), 1, `case ${id} is in the queue`);
  }
  assert.match(await page.locator(`tr[data-case="${dup}"]`).innerText(), /疑似重复/);
  await screenshot(page, "queue");

  step("the duplicate is marked against the original, chosen in the picker");
  await page.click(`tr[data-case="${dup}"] td a[href^="/console/cases/"]`);
  await page.waitForURL(`${URL}/console/cases/${dup}`);
  assert.equal(await page.locator("#case-map").count(), 1, "a map of the place");
  await screenshot(page, "case-duplicate");
  await act(page, "mark_duplicate", async (form) => {
    await form.locator(`input[name=duplicate_of][value="${a}"]`).check();
    await form.locator("input[name=text]").fill("同一地点同一问题");
  });
  assert.match(await page.locator("h1").first().innerText(), /重复/);

  step("register and dispatch the original from its page (unit and deadline suggested)");
  await page.goto(`${URL}/console/cases/${a}`);
  await act(page, "register");
  const unitChoice = await page
    .locator(`form:has(button[data-action="dispatch"]) select[name=unit_id]`)
    .inputValue();
  assert.equal(unitChoice, "u1", "the site's owner is suggested");
  const deadline = await page
    .locator(`form:has(button[data-action="dispatch"]) input[name=deadline]`)
    .inputValue();
  assert.match(deadline, /^\d{4}-\d\d-\d\dT\d\d:\d\d$/, "the category's deadline is filled in");
  await act(page, "dispatch", async (form) => form.locator("input[name=text]").fill("请两小时内清理"));
  assert.match(await page.locator("h1").first().innerText(), /已派遣/);

  step("bulk-dispatch the third case from the queue");
  await page.goto(`${URL}/console`);
  await page.check(`tr[data-case="${c}"] input[name=case]`);
  await submit(page, page.locator("button[name=action][value=dispatch]"));
  assert.match(await page.locator("#message").innerText(), /已派遣 1/);
  await screenshot(page, "queue-after-bulk");

  step("the unit's phone receives the case on sync, acknowledges and rectifies");
  const held = phone("unit1", "cases");
  assert.ok(held.some((l) => l === `${a} dispatched u1`), `unit 1's phone holds ${a}: ${held}`);
  phone("unit1", "acknowledge", "--case", a);
  phone("unit1", "rectify", "--case", a, "--note", "已清运，地面已冲洗");

  step("ranking before the check");
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  const until = new Date(Date.now() + 8 * 3600e3 + 30 * 86400e3).toISOString().slice(0, 10);
  const rankingUrl = `${URL}/console/ranking?from=${today}&to=${until}`;
  await page.goto(rankingUrl);
  const closedBefore = Number(await page.locator('tr[data-unit="u1"] td.closed').innerText());
  const dueBefore = Number(await page.locator('tr[data-unit="u1"] td.due').innerText());
  assert.equal(dueBefore, 1, "the dispatched case is due for unit 1 in the period");

  step("before and after side by side; verify");
  await page.goto(`${URL}/console/cases/${a}`);
  assert.match(await page.locator("h1").first().innerText(), /待核查/);
  assert.equal(await page.locator(".photos figure").nth(1).locator("img").count(), 1, "the after-photo");
  for (const img of await page.locator(".photos img").all()) {
    const ok = await img.evaluate((i) => i.complete && i.naturalWidth > 0);
    assert.ok(ok, "photos load");
  }
  await screenshot(page, "case-before-after");
  await act(page, "verify_pass", async (form) => form.locator("input[name=text]").fill("现场复查已整改到位"));
  assert.match(await page.locator("h1").first().innerText(), /已结案/);
  await screenshot(page, "case-closed");

  step("the ranking changes");
  await page.goto(rankingUrl);
  const closedAfter = Number(await page.locator('tr[data-unit="u1"] td.closed').innerText());
  assert.equal(closedAfter, closedBefore + 1, "unit 1 closed one more");
  assert.equal(await page.locator(".charts svg").count(), 3, "three daily charts");
  assert.match(await page.locator("#coverage").innerText(), /2 \/ 40/, "two of 40 sites inspected");
  await screenshot(page, "ranking");

  step("the bulletin as XLSX");
  const [bulletin] = await Promise.all([page.waitForEvent("download"), page.click("#bulletin")]);
  const bulletinPath = join(ART, "bulletin.xlsx");
  await bulletin.saveAs(bulletinPath);
  const b = xlsxRows(bulletinPath);
  assert.deepEqual(Object.keys(b), ["通报", "附件1 单位排名", "附件2 逾期案件", "附件3 重复问题点位"]);
  assert.match(b["通报"][0][0], /督查通报/, "the title block first");
  const rankingRows = b["附件1 单位排名"];
  assert.deepEqual(rankingRows[1].slice(0, 4), ["名次", "责任单位", "应结案", "已结案"]);
  const u1Row = rankingRows.find((r) => r[1] === "城关街道办事处");
  assert.ok(u1Row, `unit 1 in the bulletin: ${JSON.stringify(rankingRows)}`);
  assert.equal(u1Row[3], "1", "closed 1");
  const repeat = b["附件3 重复问题点位"].find((r) => r[2] === "2");
  assert.ok(repeat, `site s1 had two reports: ${JSON.stringify(b["附件3 重复问题点位"])}`);

  step("boards and the case list as XLSX");
  await page.goto(`${URL}/console/boards`);
  await screenshot(page, "boards");
  const [cases] = await Promise.all([page.waitForEvent("download"), page.click("#export-xlsx")]);
  const casesPath = join(ART, "cases.xlsx");
  await cases.saveAs(casesPath);
  const rows = xlsxRows(casesPath)["案件清单"];
  assert.equal(rows[0][0], "案卷号");
  const descriptions = rows.slice(1).map((r) => r[3]);
  assert.deepEqual(descriptions, ["背街小巷乱堆杂物"], "only the open case; the closed one is gone");
  await sup.context.close();

  step("unit staff in the browser: only their unit's cases; rectify with a photo upload");
  const unit = await signIn("unit2");
  page = unit.page;
  assert.equal(await page.locator(`tr[data-case="${c}"]`).count(), 1, "unit 2 sees its case");
  assert.equal(await page.locator(`tr[data-case="${a}"]`).count(), 0, "and not unit 1's");
  await screenshot(page, "unit-queue");
  await page.goto(`${URL}/console/cases/${c}`);
  await act(page, "acknowledge");
  const photo = join(PHONES, "after.jpg");
  phone("unit2", "photo", "--out", photo);
  await act(page, "rectify", async (form) => {
    await form.locator("input[type=file]").setInputFiles(photo);
    await form.locator("input[name=text]").fill("杂物已清理");
  });
  assert.match(await page.locator("h1").first().innerText(), /待核查/);
  await screenshot(page, "unit-rectified");
  const foreign = await page.goto(`${URL}/console/cases/${a}`);
  assert.equal(foreign.status(), 404, "another unit's case does not exist for them");
  await unit.context.close();

  step("English when the browser asks for it");
  const en = await signIn("supervisor1", "en-US");
  await en.page.goto(`${URL}/console/cases/${c}`);
  assert.match(await en.page.locator("header").innerText(), /Queue/);
  await screenshot(en.page, "case-english");
  await en.context.close();

  console.log(`browser tests passed; ${shots()} screenshots so far`);
} finally {
  await browser.close();
}
