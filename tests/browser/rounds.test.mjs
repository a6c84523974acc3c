// Inspection rounds in the console, on the demo city with its rounds (issue 17): the list with
// each round's figures, a round planned through the form, the sealed 暗访 round published from
// its page (its cases leave the seal and go to their units), and the finished round's report
// downloaded as XLSX, read back from its XML and printed by LibreOffice. Run by run.sh against
// the demo server; screenshots in target/browser-artifacts/.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch } from "./launch.mjs";
import { ART, URL, phone, screenshot, signIn, step, submit } from "./kit.mjs";

const OUT = join(ART, "rounds");
mkdirSync(OUT, { recursive: true });
const run = (cmd, args) => execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 });

const browser = await launch();
try {
  const { page } = await signIn(browser, "supervisor1");
  step("the rounds: three, each with its figure");
  await page.click("header a[href='/console/rounds']");
  await page.waitForURL(`${URL}/console/rounds`);
  const rows = page.locator("#rounds tr[data-round]");
  assert.equal(await rows.count(), 3, "the demo city's three rounds");
  const listText = await page.locator("#rounds").innerText();
  assert.match(listText, /农贸市场专项测评（明查）[\s\S]*已结束[\s\S]*7 \/ 8[\s\S]*92\.6%/, listText);
  assert.match(listText, /背街小巷暗访[\s\S]*暗访未公布[\s\S]*2 \/ 4/, listText);
  assert.match(listText, /上周问题回头看[\s\S]*100\.0%/, listText);
  assert.match(await page.locator("#coverage").innerText(), /本月尚未检查的点位/);
  await screenshot(page, "rounds-list");

  step("plan a round of the bus stops through the form");
  await page.fill("#plan-sites input[name=name]", "公交站台测评（浏览器）");
  await page.check("#plan-sites input[name=site_type][value='公交站台']");
  await page.check("#plan-sites input[name=member][value=inspector1]");
  await page.check("#plan-sites input[name=member][value=inspector2]");
  await page.selectOption("#plan-sites select[name=team_size]", "1");
  await submit(page, page.locator("#plan-sites button[type=submit]"));
  assert.match(page.url(), /\/console\/rounds\/[0-9a-f-]{36}$/);
  assert.match(await page.locator("h1").innerText(), /公交站台测评（浏览器）/);
  assert.match(await page.locator("#round-summary").innerText(), /完成 0 \/ 8/);
  await screenshot(page, "round-planned");

  step("a simulated phone (xuncha-phone) checks one of its stops offline; the page shows it");
  const planned = page.url();
  const tasks = phone("inspector1", "tasks");
  const open = tasks.filter((l) => l.split(" ")[1] === "open");
  const pick = open.findIndex((l) => / open open 公交站台/.test(l));
  assert.ok(pick >= 0, tasks.join("\n"));
  phone("inspector1", "check", "--pick", String(pick), "--seed", "5");
  await page.goto(planned);
  assert.match(await page.locator("#round-summary").innerText(), /完成 1 \/ 8/);

  step("publish the sealed undercover round: its held cases go to their units");
  await page.goto(`${URL}/console`);
  const held = Number(/另有 (\d+) 件/.exec(await page.locator("#held").innerText())[1]);
  assert.ok(held > 0, "the queue says what the seal holds");
  await page.goto(`${URL}/console/rounds`);
  await Promise.all([page.waitForURL(/\/console\/rounds\/[0-9a-f-]{36}$/), page.click("#rounds a:has-text('背街小巷暗访')")]);
  const sealedPage = page.url();
  const caseLinks = await page.locator("#sites td a[href^='/console/cases/']").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  assert.equal(caseLinks.length, held, "the round's raised cases are the held ones");
  await screenshot(page, "round-sealed");
  await submit(page, page.locator("#publish"));
  assert.equal(page.url(), sealedPage);
  assert.equal(await page.locator("#publish").count(), 0, "published once");
  assert.doesNotMatch(await page.locator("h1").innerText(), /暗访未公布/);
  await page.goto(`${URL}${caseLinks[0]}`);
  assert.match(await page.locator("main").innerText(), /已派遣/, "dispatched at once");
  await page.goto(`${URL}/console`);
  assert.equal(await page.locator("#held").count(), 0, "nothing held any more");

  step("the finished round's report: on the page, then as XLSX read back and printed");
  await page.goto(`${URL}/console/rounds`);
  await Promise.all([page.waitForURL(/\/console\/rounds\/[0-9a-f-]{36}$/), page.click("#rounds a:has-text('农贸市场专项测评')")]);
  assert.match(await page.locator("#rate").innerText(), /92\.6%/);
  assert.equal(await page.locator("#sites tr[data-site]").count(), 8);
  await screenshot(page, "round-report");
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const xlsx = join(OUT, "round-report.xlsx");
  await dl.saveAs(xlsx);
  const sheets = JSON.parse(run("python3", ["tests/browser/xlsx_rows.py", xlsx]));
  assert.deepEqual(Object.keys(sheets), ["汇总", "点位得分", "分类型", "分区域", "分单位"]);
  const rate = sheets["汇总"].find((r) => r[0] === "得分率");
  assert.ok(Math.abs(Number(rate[1]) - 162 / 175) < 1e-9, `the rate as a number: ${rate}`);
  const points = sheets["点位得分"].slice(1).map((r) => r[5]).filter((v) => v !== "" && v !== null && v !== undefined).map(Number);
  assert.equal(points.reduce((a, b) => a + b, 0), 162, "the sites' points add up");
  const profile = mkdtempSync(join(tmpdir(), "xuncha-lo-"));
  try {
    run("soffice", [`-env:UserInstallation=file://${profile}`, "--headless", "--convert-to", "pdf", "--outdir", OUT, xlsx]);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  const text = run("pdftotext", ["-layout", join(OUT, "round-report.pdf"), "-"]);
  assert.match(text, /农贸市场专项测评/);
  assert.match(text, /92\.6%/);
  console.log("rounds browser check passed");
} finally {
  await browser.close();
}
