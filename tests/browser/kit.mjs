// What the browser tests share: the simulated phone, screenshots, signing in, submitting a form
// and taking an action from a case page. Run by tests/browser/run.sh (which sets the variables).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const URL = process.env.XUNCHA_URL;
export const PHONE = process.env.XUNCHA_PHONE;
export const PHONES = process.env.XUNCHA_PHONES;
export const ART = process.env.XUNCHA_ARTIFACTS;
assert.ok(URL && PHONE && PHONES && ART, "run through tests/browser/run.sh");
mkdirSync(PHONES, { recursive: true });

/** One step of a simulated phone; its stdout lines. */
export function phone(user, ...args) {
  const out = execFileSync(PHONE, ["--server", URL, "--dir", PHONES, "--user", user, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").filter(Boolean);
}

let shot = 0;
/** A full-page screenshot into the artifacts, numbered in the order taken. */
export async function screenshot(page, name) {
  shot += 1;
  const file = join(ART, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`   screenshot ${file}`);
}

export function shots() {
  return shot;
}

export function step(what) {
  console.log(`-- ${what}`);
}

/** A signed-in browser context for `user` (password demo); nothing may load from outside. */
export async function signIn(browser, user, { locale = "zh-CN", viewport = { width: 1280, height: 900 }, bypassCSP = false } = {}) {
  const context = await browser.newContext({ locale, acceptDownloads: true, viewport, bypassCSP });
  const page = await context.newPage();
  page.on("request", (r) => {
    if (!r.url().startsWith(URL) && !r.url().startsWith("data:")) {
      throw new Error(`the console loaded ${r.url()} from outside`);
    }
  });
  await page.goto(`${URL}/console`);
  assert.match(page.url(), /\/console\/login/, "signed out: the sign-in page");
  await page.fill("#user", user);
  await page.fill("#password", "demo");
  await Promise.all([page.waitForURL(`${URL}/console`), page.click("button[type=submit]")]);
  return { context, page };
}

/** Click a submit button and wait for the next page to have loaded. */
export async function submit(page, button) {
  await page.evaluate(() => {
    window.__before = true;
  });
  await button.click();
  await page.waitForFunction(() => !window.__before);
  await page.waitForLoadState("load");
}

/** Take `action` from the case page, after `fill` filled its form; throws the page's reason. */
export async function act(page, action, fill = async () => {}) {
  const form = page.locator(`form:has(button[data-action="${action}"])`);
  await fill(form);
  await submit(page, form.locator("button[type=submit]"));
  const err = page.locator(".msg.err");
  if (await err.count()) {
    throw new Error(`${action} refused: ${await err.innerText()}`);
  }
}
