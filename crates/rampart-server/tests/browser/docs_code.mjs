// Swagger UI's authorization-code flow with PKCE in headless Debian chromium: /docs →
// Authorize (authorizationCode, client first-party) → the popup shows Rampart's login page
// → sign in (first-party: no consent) → the popup returns to /docs/oauth2-redirect.html
// and closes → Swagger UI exchanges the code → "Try it out" on GET /users/me answers 200.
// Run by tests/docs_browser.rs with RAMPART_URL, RAMPART_USERNAME, RAMPART_PASSWORD,
// CHROMIUM and OUT_DIR. Exits non-zero on any failure or CSP violation.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = mustEnv("RAMPART_URL");
const username = mustEnv("RAMPART_USERNAME");
const password = mustEnv("RAMPART_PASSWORD");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const outDir = mustEnv("OUT_DIR");
mkdirSync(outDir, { recursive: true });

function mustEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return value;
}

const problems = [];
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
let page;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__cspViolations.push(`${location.pathname}: ${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`);
    });
  });
  page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${base}/docs/`, { waitUntil: "networkidle" });
  await page.locator(".swagger-ui .information-container .title").waitFor();

  await page.locator(".auth-wrapper button.authorize").click();
  const modal = page.locator(".dialog-ux .modal-ux");
  await modal.waitFor();
  const code = modal.locator(".auth-container").filter({ hasText: "authorizationCode" });
  await code.waitFor();
  const clientId = await code.locator("input[id^=client_id]").inputValue();
  if (clientId !== "first-party") throw new Error(`client_id is ${JSON.stringify(clientId)}`);
  const [popup] = await Promise.all([page.waitForEvent("popup"), code.locator("button.authorize").click()]);
  popup.on("pageerror", (e) => problems.push(`popup error: ${e.message}`));
  await popup.getByLabel("Username").waitFor();
  if (!popup.url().startsWith(`${base}/oauth/authorize`)) throw new Error(`the popup is at ${popup.url()}`);
  const query = new URL(popup.url()).searchParams;
  if (query.get("code_challenge_method") !== "S256") throw new Error(`Swagger UI sent no S256 challenge: ${popup.url()}`);
  await popup.screenshot({ path: join(outDir, "docs-code-login.png") });
  for (const v of await popup.evaluate(() => window.__cspViolations)) problems.push(`CSP violation: ${v}`);
  await popup.getByLabel("Username").fill(username);
  await popup.getByLabel("Password").fill(password);
  await Promise.all([popup.waitForEvent("close", { timeout: 15000 }), popup.getByRole("button", { name: "Sign in" }).click()]);

  await code
    .locator("button", { hasText: "Logout" })
    .waitFor({ timeout: 15000 })
    .catch(async (error) => {
      throw new Error(`the code flow did not authorize (${error.message}):\n${await code.innerText()}`);
    });
  await page.screenshot({ path: join(outDir, "docs-code-authorized.png") });
  await modal.locator("button.btn-done").first().click();

  const op = page.locator("#operations-users-get_me");
  await op.locator(".opblock-summary").click();
  await op.locator("button.try-out__btn").click();
  await op.locator("button.execute").click();
  const live = op.locator(".live-responses-table .response").first();
  await live.waitFor({ timeout: 15000 });
  const status = (await live.locator(".response-col_status").innerText()).trim();
  const body = await live.locator(".response-col_description pre").first().innerText();
  if (status !== "200") throw new Error(`GET /users/me answered ${status}:\n${body}`);
  if (JSON.parse(body).username !== username) throw new Error(`unexpected profile: ${body}`);
  for (const v of await page.evaluate(() => window.__cspViolations)) problems.push(`CSP violation: ${v}`);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  console.log(`authorization code flow: GET /users/me -> ${status}`);
} catch (error) {
  if (page) await page.screenshot({ path: join(outDir, "docs-code-failure.png"), fullPage: true }).catch(() => {});
  console.error(error instanceof Error ? error.message : error);
  if (problems.length > 0) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
}
