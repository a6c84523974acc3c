// The demo city as a newcomer first sees it (`xuncha-server demo`, with its week of sample
// cases): the queue, the boards and the ranking have something in them. Run by run.sh.

import assert from "node:assert/strict";
import { join } from "node:path";
import { launch } from "./launch.mjs";

const URL = process.env.XUNCHA_URL;
const ART = process.env.XUNCHA_ARTIFACTS;
assert.ok(URL && ART, "run through tests/browser/run.sh");

const browser = await launch();
try {
  const context = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${URL}/console`);
  await page.fill("#user", "supervisor1");
  await page.fill("#password", "demo");
  await Promise.all([page.waitForURL(`${URL}/console`), page.click("button[type=submit]")]);
  assert.equal(await page.locator("tr[data-case]").count(), 3, "two new reports and one registered");
  assert.match(await page.locator("#queue").innerText(), /疑似重复/);
  await page.screenshot({ path: join(ART, "demo-1-queue.png"), fullPage: true });

  await page.goto(`${URL}/console/boards`);
  assert.match(await page.locator(".card h1").first().innerText(), /逾期.*\((\d+)\)/);
  assert.ok((await page.locator(".status.overdue").count()) > 0, "overdue cases on the boards");
  await page.screenshot({ path: join(ART, "demo-2-boards.png"), fullPage: true });

  await page.goto(`${URL}/console/ranking`);
  const closed = await page.locator("#ranking td.closed").allInnerTexts();
  assert.equal(closed.map(Number).reduce((a, b) => a + b, 0), 2, "two cases closed this week");
  const byArea = await page.locator("#areas td.closed").allInnerTexts();
  assert.equal(byArea.length, 2, "the two districts compared");
  assert.equal(byArea.map(Number).reduce((a, b) => a + b, 0), 2, "the districts' closed add up");
  await page.screenshot({ path: join(ART, "demo-3-ranking.png"), fullPage: true });
  console.log("demo city browser check passed");
} finally {
  await browser.close();
}
