/**
 * The HTML report in a real browser (headless Chromium through playwright-core): the headline
 * figures equal those computed from the fixture's events, the charts and the alert table render,
 * nothing is requested from the network, nothing logs an error or opens a dialog, hostile names
 * stay text, and the report prints to a PDF of several pages. A screenshot and the PDF are kept in
 * test-artifacts/. Without Chromium the test skips locally and fails in CI (CI set).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { run } from "../../src/cli/run.js";
import { fakeIo } from "../helpers/cli.js";
import {
  expectedFigures,
  HOSTILE_ACCOUNT,
  HOSTILE_VM,
  writeAuditFixture,
} from "../helpers/audit-fixture.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ARTIFACTS = join(ROOT, "test-artifacts");

function chromiumPath(): string | undefined {
  const candidates = [
    process.env["CHROMIUM_PATH"],
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
  ];
  return candidates.find((p): p is string => p !== undefined && p !== "" && existsSync(p));
}

/** Pages of a PDF: its page objects (`/Type /Page`, not `/Pages`). */
const pdfPages = (pdf: Buffer): number =>
  (pdf.toString("latin1").match(/\/Type\s*\/Page(?![s\w])/g) ?? []).length;

const leadingInt = (text: string | null): number => Number(/^\s*(\d+)/.exec(text ?? "")?.[1]);

describe("the HTML report in headless Chromium", () => {
  it("shows the fixture's figures, renders charts and alerts offline, and prints", async (t) => {
    const executable = chromiumPath();
    if (executable === undefined) {
      if (process.env["CI"]) {
        assert.fail("chromium is not installed: .ci/run installs it (apt-get install -y chromium)");
      }
      t.skip("chromium not found (set CHROMIUM_PATH or install chromium): browser test skipped");
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "guestops-report-"));
    const { events, policy } = writeAuditFixture(dir);
    const out = join(dir, "report.html");
    const { io } = fakeIo(dir);
    assert.equal(await run(["report", events, "--policy", policy, "--out", out], io), 0);
    const expected = expectedFigures();

    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: executable,
      args: ["--no-sandbox", "--disable-gpu"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const url = pathToFileURL(out).href;
      const requests: string[] = [];
      const problems: string[] = [];
      page.on("request", (r) => {
        if (r.url() !== url) requests.push(r.url());
      });
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning")
          problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      page.on("dialog", (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      await page.goto(url, { waitUntil: "load" });

      const figure = (name: string) => page.locator(`[data-figure="${name}"]`).textContent();
      assert.equal(leadingInt(await figure("operations")), expected.operations);
      assert.equal(leadingInt(await figure("principals")), expected.principals);
      assert.equal(leadingInt(await figure("vms")), expected.vms);
      assert.equal(leadingInt(await figure("after-hours")), expected.afterHours);
      assert.equal(leadingInt(await figure("critical")), expected.critical);
      assert.equal(leadingInt(await figure("attributed")), expected.attributed);
      assert.equal(
        leadingInt(await figure("expected")) + leadingInt(await figure("unexpected")),
        expected.operations,
      );
      assert.equal(await figure("first-evidence"), expected.firstEvidence);

      // charts: one bar per day of the span, 7 x 24 cells, drawn with a size
      assert.equal(await page.locator("#timeline g.bar").count(), expected.days);
      assert.equal(await page.locator("#heatmap rect.cell").count(), 168);
      for (const id of ["#timeline", "#heatmap"]) {
        const box = await page.locator(id).boundingBox();
        assert.ok(box && box.width > 300 && box.height > 100, `${id} is drawn`);
        assert.ok(((await page.locator(`${id} desc`).textContent()) ?? "").length > 20);
      }
      const busiest = await page.locator("#heatmap desc").textContent();
      assert.match(busiest ?? "", /busiest hour is Sat 03:00 with 3/);

      // the alert table, with the hostile names as text
      const rows = page.locator("#alert-table tbody tr.alert");
      assert.ok((await rows.count()) >= 2);
      const hostileRow = rows.filter({ hasText: HOSTILE_VM });
      assert.ok((await hostileRow.count()) >= 1, "the hostile VM name is shown as text");
      assert.ok(((await hostileRow.first().textContent()) ?? "").includes(HOSTILE_ACCOUNT));
      assert.ok(((await rows.first().locator("pre.evidence").first().textContent()) ?? "").length);
      assert.equal(await page.locator("img, script, [onerror], iframe, object, embed").count(), 0);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "report.png"), fullPage: true });
      const pdf = await page.pdf({ format: "A4", printBackground: true });
      writeFileSync(join(ARTIFACTS, "report.pdf"), pdf);
      const pages = pdfPages(pdf);
      // a page break before each of the sections after the first (7 sections)
      assert.ok(pages >= 7, `the PDF has ${pages} pages`);

      assert.deepEqual(requests, [], "no request besides the report itself");
      assert.deepEqual(problems, [], "no console error, page error or dialog");
    } finally {
      await browser.close();
    }
  });
});
