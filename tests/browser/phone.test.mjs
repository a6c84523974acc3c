// The console on a phone (390×844, where most unit staff open it) and on a desktop, in Debian
// Chromium: axe-core finds no serious or critical violation on any page at either size; on the
// phone nothing is wider than the screen and every control is at least 44 px tall; unit staff
// acknowledge, ask for more time and rectify with a photo on the phone; the favicon is served.
// Run by tests/browser/run.sh after console.test.mjs, on the same server.

import assert from "node:assert/strict";
import { join } from "node:path";
import { seriousViolations } from "./a11y.mjs";
import { PHONES, URL, act, phone, screenshot, signIn, step } from "./kit.mjs";
import { launch } from "./launch.mjs";

const DESKTOP = { width: 1280, height: 900 };
const PHONE_SIZE = { width: 390, height: 844 };
const browser = await launch();

/** What a page must hold to at every size, and on a phone its width and tap targets. */
async function check(page, what, size) {
  const v = await seriousViolations(page);
  assert.deepEqual(v, [], `${what} at ${size.width}px: axe-core violations ${JSON.stringify(v, null, 1)}`);
  if (size.width > 500) return;
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= size.width, `${what}: ${width}px wide on a ${size.width}px screen`);
  const small = await page.evaluate(() =>
    [...document.querySelectorAll(
      "header a, header button, header input, main button, main select, " +
        "main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), label.tick",
    )]
      .filter((e) => e.offsetParent !== null)
      .map((e) => ({ e: e.outerHTML.slice(0, 80), h: e.getBoundingClientRect().height }))
      .filter((x) => x.h < 44),
  );
  assert.deepEqual(small, [], `${what}: tap targets under 44 px`);
}

try {
  step("a case for unit 1, registered and dispatched by the office");
  const id = phone("inspector1", "report", "--description", "手机端测试：人行道积水", "--site", "s1")[0];
  {
    const office = await signIn(browser, "supervisor1");
    await office.page.goto(`${URL}/console/cases/${id}`);
    await act(office.page, "register");
    await act(office.page, "dispatch");
    await office.context.close();
  }

  for (const [user, size] of [
    ["supervisor1", DESKTOP],
    ["supervisor1", PHONE_SIZE],
    ["admin", PHONE_SIZE],
    ["unit1", PHONE_SIZE],
    ["unit1", DESKTOP],
  ]) {
    step(`every page for ${user} at ${size.width}px: axe-core, width, tap targets`);
    const ctx = await browser.newContext({ locale: "zh-CN", viewport: size, bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(`${URL}/console/login`);
    await check(page, "sign-in", size);
    await page.fill("#user", user);
    await page.fill("#password", "demo");
    await Promise.all([page.waitForURL(`${URL}/console`), page.click("button[type=submit]")]);
    const pages = ["/console", "/console/boards", "/console/search?q=积水", `/console/cases/${id}`];
    if (user === "supervisor1") pages.push("/console/ranking", "/console/photos/waiting", "/console/rounds", "/console/standard");
    if (user === "admin") pages.push("/console/standard");
    for (const path of pages) {
      const r = await page.goto(`${URL}${path}`);
      assert.equal(r.status(), 200, path);
      await check(page, path, size);
      if (size === PHONE_SIZE) {
        await screenshot(page, `phone-${user}-${path.split("?")[0].split("/").pop() || "queue"}`);
      }
    }
    await ctx.close();
  }

  step("unit staff on a phone: acknowledge, ask for more time, rectify with a photo");
  const unit = await signIn(browser, "unit1", { viewport: PHONE_SIZE });
  const page = unit.page;
  await page.goto(`${URL}/console/cases/${id}`);
  await act(page, "acknowledge");
  assert.match(await page.locator("h1").first().innerText(), /处置中/);
  const until = await page.locator('form:has(button[data-action="request_extension"]) input[name=until]').inputValue();
  assert.match(until, /^\d{4}-\d\d-\d\dT\d\d:\d\d$/, "the new deadline is offered to change");
  await act(page, "request_extension", async (form) => form.locator("input[name=text]").fill("需协调市政疏通"));
  assert.match(await page.locator(".msg.extension").innerText(), /延期申请/);
  const photo = join(PHONES, "phone-after.jpg");
  phone("unit1", "photo", "--out", photo, "--seed", "77");
  await act(page, "rectify", async (form) => {
    await form.locator("input[type=file]").setInputFiles(photo);
    await form.locator("input[name=text]").fill("积水已排净");
  });
  assert.match(await page.locator("h1").first().innerText(), /待核查/);
  await screenshot(page, "phone-unit-rectified");
  await unit.context.close();

  step("the favicon");
  for (const path of ["/favicon.ico", "/favicon.svg"]) {
    const r = await fetch(`${URL}${path}`);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get("content-type"), "image/svg+xml");
    assert.match(await r.text(), /<svg/);
  }
  console.log("phone and accessibility tests passed");
} finally {
  await browser.close();
}
