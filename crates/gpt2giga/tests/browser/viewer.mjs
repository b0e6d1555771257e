// Drives the proxy's pages in headless Chromium (called by ../browser.rs):
//   node viewer.mjs <proxy base URL> <API key> <screenshot directory>
// Checks that /logs/html refuses a wrong key, goes live with the right one and shows a
// log line produced after connecting; that /docs renders the OpenAPI document; that no
// page requests anything outside the proxy or logs a script error. Prints a JSON
// summary on success; exits non-zero with a reason on failure.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, key, outDir] = process.argv.slice(2);
if (!base || !key || !outDir) {
  console.error("usage: node viewer.mjs <base-url> <api-key> <screenshot-dir>");
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
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
const summary = { ok: false, screenshots: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const page = await context.newPage();
  const external = [];
  const errors = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:")) external.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    // A refused fetch (the wrong-key step) is expected to log a 401 resource error.
    if (m.type() === "error" && !/401/.test(m.text())) errors.push(m.text());
  });
  const shot = async (name) => {
    const path = join(outDir, name);
    await page.screenshot({ path });
    summary.screenshots.push(path);
  };

  // 1. The page loads without a key and asks for one.
  await page.goto(`${base}/logs/html`);
  await page.waitForSelector("#api-key");
  if ((await page.getAttribute("#status", "data-state")) !== "idle") fail("not idle on load");

  // 2. A wrong key is refused with a clear message.
  await page.fill("#api-key", "definitely-not-the-key");
  await page.click("#connect");
  await page.waitForSelector('#status[data-state="error"]', { timeout: 15000 });
  const refused = await page.textContent("#message");
  if (!/401/.test(refused)) fail(`wrong key message: ${refused}`);
  summary.refused = refused;
  await shot("logs-viewer-wrong-key.png");

  // 3. The right key: history, then live.
  await page.fill("#api-key", key);
  await page.click("#connect");
  await page.waitForSelector('#status[data-state="live"]', { timeout: 15000 });

  // 4. A request made now shows up in the page.
  const marker = `browser-marker-${Date.now()}`;
  const r = await fetch(`${base}/v1/models/${marker}`, { headers: { "x-api-key": key } });
  summary.markerStatus = r.status;
  await page.waitForFunction(
    (m) => document.getElementById("log").textContent.includes(m),
    marker,
    { timeout: 15000 },
  );
  summary.lines = await page.locator("#log .line").count();
  summary.status = await page.textContent("#status");
  const storage = await page.evaluate(() => ({
    session: sessionStorage.getItem("gpt2giga.apiKey"),
    local: localStorage.length,
    cookies: document.cookie,
  }));
  if (storage.session !== key) fail("the key is not kept in session storage");
  if (storage.local !== 0 || storage.cookies !== "") fail("the key leaked into local storage or cookies");
  if ((await page.textContent("#log")).includes(key)) fail("the API key appears in the log view");
  await shot("logs-viewer.png");

  // 5. The filter hides non-matching lines.
  await page.fill("#filter", marker);
  const visible = await page.locator("#log .line:not(.hidden)").count();
  if (visible < 1 || visible >= summary.lines) fail(`filter shows ${visible} of ${summary.lines}`);
  await page.fill("#filter", "");

  // 6. Disconnect.
  await page.click("#disconnect");
  await page.waitForSelector('#status[data-state="idle"]', { timeout: 5000 });

  // 7. The API reference renders the OpenAPI document (the key comes from this tab's
  //    session storage).
  await page.goto(`${base}/docs`);
  await page.waitForSelector("details.op", { timeout: 15000 });
  summary.operations = await page.locator("details.op").count();
  if (summary.operations < 30) fail(`only ${summary.operations} operations rendered`);
  await page.click("#createChatCompletion > summary");
  await page.waitForSelector("#createChatCompletion .schema .name");
  await shot("docs.png");

  summary.external = external;
  summary.errors = errors;
  if (external.length) fail(`requests outside the proxy: ${external.join(", ")}`);
  if (errors.length) fail(`script errors: ${errors.join(" | ")}`);
  summary.ok = true;
  console.log(JSON.stringify(summary));
} catch (e) {
  console.error(`browser check failed: ${e.message}`);
  console.error(JSON.stringify(summary));
  process.exitCode = 1;
} finally {
  await browser.close();
}
