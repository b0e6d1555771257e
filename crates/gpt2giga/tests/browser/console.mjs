// Drives the web console in headless Chromium (called by ../browser.rs):
//   node console.mjs <proxy base URL> <API key> <screenshot directory>
// Checks that /console goes live with the key, lists a request made after connecting,
// opens its record (four bodies, timings) with the keyboard, replays it, and that the
// playground completes an Anthropic request that then appears in the table; that nothing
// is requested outside the proxy and no script error is logged. Prints a JSON summary on
// success; exits non-zero with a reason on failure.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, key, outDir] = process.argv.slice(2);
if (!base || !key || !outDir) {
  console.error("usage: node console.mjs <base-url> <api-key> <screenshot-dir>");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
mkdirSync(outDir, { recursive: true });

function fail(message) {
  throw new Error(message);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const summary = { ok: false, screenshots: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 860 } });
  const page = await context.newPage();
  const external = [];
  const errors = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:")) external.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  const shot = async (name) => {
    const path = join(outDir, name);
    await page.screenshot({ path });
    summary.screenshots.push(path);
  };

  // 1. Connect with the key: live.
  await page.goto(`${base}/console`);
  await page.fill("#api-key", key);
  await page.click("#connect");
  await page.waitForSelector('#status[data-state="live"]', { timeout: 15000 });

  // 2. Requests made now appear in the table (live tail).
  const marker = `console-marker-${Date.now()}`;
  for (const stream of [false, true]) {
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify({ model: marker, stream, messages: [{ role: "user", content: `hi ${marker}` }] }),
    });
    await r.text();
    if (r.status !== 200) fail(`chat answered ${r.status}`);
  }
  await page.waitForFunction((m) => {
    const rows = [...document.querySelectorAll("#rows tr")].filter((tr) => tr.textContent.includes(m));
    return rows.length >= 2;
  }, marker, { timeout: 15000 });
  summary.rows = await page.locator("#rows tr").count();
  await shot("console-table.png");

  // 3. The filter narrows the table to the model.
  await page.fill("#f-model", marker);
  await page.press("#f-model", "Enter");
  await page.waitForFunction((m) => {
    const rows = [...document.querySelectorAll("#rows tr")];
    return rows.length === 2 && rows.every((tr) => tr.textContent.includes(m));
  }, marker, { timeout: 15000 });

  // 4. Keyboard: focus the first row, move down and back, open with Enter.
  await page.focus("#rows tr:first-child");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#detail.open", { timeout: 10000 });
  const bodies = {};
  for (const k of ["client_request", "gigachat_request", "gigachat_response", "client_response"]) {
    bodies[k] = await page.textContent(`#b-${k}`);
    if (!bodies[k] || bodies[k].startsWith("(not kept")) fail(`no ${k} body`);
  }
  if (!bodies.client_request.includes(marker)) fail("the client request is not the one sent");
  if (!bodies.gigachat_request.includes("messages")) fail("no GigaChat request");
  const timings = await page.textContent("#timings");
  if (!/first byte/.test(timings) || !/total/.test(timings)) fail(`timings: ${timings}`);
  if ((await page.textContent("#detail")).includes(key)) fail("the API key appears in a record");
  await shot("console-detail.png");

  // 5. Replay (the r key) shows the new answer next to the old one.
  await page.keyboard.press("r");
  await page.waitForFunction(() => /Replay · \d+/.test(document.getElementById("replay-title").textContent),
    null, { timeout: 15000 });
  summary.replayStatus = await page.textContent("#replay-title");
  await shot("console-replay.png");

  // 6. Esc closes and gives the focus back to the row.
  await page.keyboard.press("Escape");
  await page.waitForSelector("#detail", { state: "hidden", timeout: 5000 });
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.tagName);
  if (focused !== "TR") fail(`focus went to ${focused} after closing`);

  // 7. The playground: an Anthropic request completes and shows up in the table.
  await page.fill("#f-model", "");
  await page.press("#f-model", "Enter");
  await page.selectOption("#pg-dialect", "anthropic");
  await page.fill("#pg-model", "claude-playground");
  await page.fill("#pg-prompt", "playground-prompt: say hello");
  await page.click("#pg-send");
  await page.waitForFunction(() => document.getElementById("pg-status").textContent.startsWith("HTTP"),
    null, { timeout: 15000 });
  const pgStatus = await page.textContent("#pg-status");
  if (pgStatus !== "HTTP 200") fail(`playground: ${pgStatus} ${await page.textContent("#pg-answer")}`);
  summary.playground = await page.textContent("#pg-answer");
  await page.waitForFunction(() => [...document.querySelectorAll("#rows tr")]
    .some((tr) => tr.textContent.includes("claude-playground")), null, { timeout: 15000 });
  await shot("console-playground.png");

  const storage = await page.evaluate(() => ({ local: localStorage.length, cookies: document.cookie }));
  if (storage.local !== 0 || storage.cookies !== "") fail("the key leaked into local storage or cookies");
  summary.external = external;
  summary.errors = errors;
  if (external.length) fail(`requests outside the proxy: ${external.join(", ")}`);
  if (errors.length) fail(`script errors: ${errors.join(" | ")}`);
  summary.ok = true;
  console.log(JSON.stringify(summary));
} catch (e) {
  console.error(`console check failed: ${e.message}`);
  console.error(JSON.stringify(summary));
  process.exitCode = 1;
} finally {
  await browser.close();
}
