// The weekly bulletin of the demo city as an office receives it: downloaded from the ranking page
// in Chromium as XLSX and DOCX, checked in its XML (print setup, frozen and repeated headers),
// then opened by LibreOffice headless, printed to PDF and rendered to PNG (poppler), and the
// pages read back: the title block on page 1, each annex on landscape pages, the whole ranking
// on one page. The PDFs and PNGs stay in target/browser-artifacts/office/ (look at them).
// Run by run.sh against the demo server.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch } from "./launch.mjs";
import { ART, URL, signIn, step } from "./kit.mjs";

const OUT = join(ART, "office");
mkdirSync(OUT, { recursive: true });
const run = (cmd, args) => execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 });

/** One part of an OOXML package, as text. */
function part(file, name) {
  return run("python3", ["-c", "import sys,zipfile;print(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())", file, name]);
}

/** The pages of a PDF: [{ text, width, height }]. */
function pages(pdf) {
  const n = Number(/Pages:\s+(\d+)/.exec(run("pdfinfo", [pdf]))[1]);
  return Array.from({ length: n }, (_, i) => {
    const p = String(i + 1);
    const size = /size:\s+([\d.]+) x ([\d.]+)/.exec(run("pdfinfo", ["-f", p, "-l", p, pdf]));
    return {
      text: run("pdftotext", ["-layout", "-f", p, "-l", p, pdf, "-"]),
      width: Number(size[1]),
      height: Number(size[2]),
    };
  });
}

/** LibreOffice headless: the file printed to PDF (a private profile, so runs do not collide). */
function toPdf(file) {
  const profile = mkdtempSync(join(tmpdir(), "xuncha-lo-"));
  try {
    run("soffice", [`-env:UserInstallation=file://${profile}`, "--headless", "--convert-to", "pdf", "--outdir", OUT, file]);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  const pdf = file.replace(/\.(xlsx|docx)$/, ".pdf");
  run("pdftoppm", ["-r", "80", "-png", pdf, pdf.replace(/\.pdf$/, "")]);
  return pdf;
}

const units = ["城关街道办事处", "东城街道办事处", "环卫集团", "市政设施管理处", "交警大队", "市场监管所", "住建局", "园林绿化中心", "湖滨街道办事处"];

const browser = await launch();
try {
  const { page } = await signIn(browser, "supervisor1");
  await page.goto(`${URL}/console/ranking`);
  step("download the bulletin as XLSX and DOCX");
  const [x] = await Promise.all([page.waitForEvent("download"), page.click("#bulletin")]);
  const xlsx = join(OUT, "bulletin-excel.xlsx");
  await x.saveAs(xlsx);
  const [d] = await Promise.all([page.waitForEvent("download"), page.click("#bulletin-docx")]);
  const docx = join(OUT, "bulletin-word.docx");
  await d.saveAs(docx);

  step("the XML: A4, landscape annexes fitted to the width, frozen and repeated headers");
  const workbook = part(xlsx, "xl/workbook.xml");
  assert.equal((workbook.match(/_xlnm\.Print_Titles/g) || []).length, 3, "each annex repeats its title and header rows");
  for (const n of [2, 3, 4]) {
    const sheet = part(xlsx, `xl/worksheets/sheet${n}.xml`);
    assert.match(sheet, /<pageSetup[^>]*paperSize="9"[^>]*orientation="landscape"/, `annex sheet ${n}: A4 landscape`);
    assert.match(sheet, /<pageSetup[^>]*fitToHeight="0"/, `annex sheet ${n}: fitted to the page width`);
    assert.match(sheet, /<pane [^>]*ySplit="2"/, `annex sheet ${n}: title and header frozen`);
  }
  assert.match(part(xlsx, "xl/styles.xml"), /formatCode="0\.0%"/, "rates in a percent format");
  const document = part(docx, "word/document.xml");
  assert.equal((document.match(/<w:tblHeader\s*\/>/g) || []).length, 3, "each annex table repeats its header row");
  assert.match(document, /w:orient="landscape"/);

  step("LibreOffice prints the workbook");
  const xp = pages(toPdf(xlsx));
  assert.ok(xp.length <= 6, `the bulletin prints on a few pages, not ${xp.length}`);
  assert.match(xp[0].text, /创文督查通报/);
  assert.match(xp[0].text, /\d{4}年第\d+期/);
  assert.match(xp[0].text, /示范市创建全国文明城市工作指挥部办公室/);
  assert.match(xp[0].text, /关于.*问题整改情况的通报/);
  assert.match(xp[0].text, /本期共发现问题\d+件/);
  assert.ok(xp[0].height > xp[0].width, "the text on a portrait page");
  const rankingPages = xp.filter((p) => /附件1/.test(p.text) && /责任单位综合排名/.test(p.text));
  assert.equal(rankingPages.length, 1, "the whole ranking on one page");
  const ranking = rankingPages[0];
  assert.ok(ranking.width > ranking.height, "the ranking on a landscape page");
  for (const u of units) assert.ok(ranking.text.includes(u), `${u} on the ranking page`);
  for (const h of ["名次", "结案率", "按期结案率", "综合得分"]) assert.ok(ranking.text.includes(h), `column ${h} printed`);
  assert.match(ranking.text, /\d+\.\d%/, "rates printed as percentages");
  const overdue = xp.filter((p) => /附件2/.test(p.text));
  assert.ok(overdue.length >= 1 && overdue.every((p) => p.text.includes("案卷号")), "the overdue list's header on each of its pages");
  assert.match(overdue[0].text, /\d{4}-\d{2}-\d{2} \d{2}:\d{2}/, "times printed as dates");
  assert.match(overdue[0].text, /巡查员/, "reporters by name");

  step("LibreOffice prints the Word document");
  const dp = pages(toPdf(docx));
  assert.ok(dp.length <= 6, `the Word bulletin prints on a few pages, not ${dp.length}`);
  assert.match(dp[0].text, /创文督查通报/);
  assert.match(dp[0].text, /第\s*\d+\s*期/);
  assert.match(dp[0].text, /本期共发现问题\s*\d+\s*件/);
  const docRanking = dp.filter((p) => /附件\s*1/.test(p.text) && /综合排名/.test(p.text));
  assert.equal(docRanking.length, 1, "the ranking table on one page");
  for (const u of units) assert.ok(docRanking[0].text.includes(u), `${u} in the Word ranking`);
  assert.ok(dp.every((p) => p.width > p.height), "A4 landscape");
  console.log(`bulletin rendered by LibreOffice: XLSX ${xp.length} pages, DOCX ${dp.length} pages (PNGs in ${OUT})`);
} finally {
  await browser.close();
}
