// Drives Swagger UI at /docs in headless Debian chromium (through playwright-core, which
// never downloads a browser): Authorize with the oauth2 password flow, then "Try it out"
// on GET /users/me and check the 200 body. Run by tests/docs_browser.rs, which starts the
// server and passes:
//   RAMPART_URL        https://localhost:PORT
//   RAMPART_USERNAME   RAMPART_PASSWORD
//   CHROMIUM           /usr/bin/chromium
//   OUT_DIR            where the screenshots go
// Exits non-zero with a message on any failure, a CSP violation, a console error, or a
// request to another origin (the page must work offline, without a CDN).

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
const origin = new URL(base).origin;
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
let page;
try {
  // The dev certificate is self-signed; the test is about the page, not the trust store.
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 900 },
  });
  // Anything the page's Content-Security-Policy blocks is a failure: the policy must allow
  // exactly what Swagger UI needs.
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`);
    });
  });
  page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.protocol !== "data:" && url.origin !== origin) {
      problems.push(`request to another origin: ${request.url()}`);
    }
  });

  const response = await page.goto(`${base}/docs`, { waitUntil: "networkidle" });
  const csp = response.headers()["content-security-policy"] || "";
  if (!csp.includes("script-src 'self'") || !csp.includes("frame-ancestors 'none'")) {
    throw new Error(`unexpected Content-Security-Policy on /docs/: ${csp}`);
  }
  await page.locator(".swagger-ui .information-container .title").waitFor();

  // Authorize: the oauth2 password flow, client_id prefilled with the first-party client.
  await page.locator(".auth-wrapper button.authorize").click();
  const modal = page.locator(".dialog-ux .modal-ux");
  await modal.waitFor();
  const oauth2 = modal.locator(".auth-container").filter({ hasText: "oauth2 (OAuth2, password)" });
  const clientId = await oauth2.locator("input#client_id_password").inputValue();
  if (clientId !== "first-party") throw new Error(`client_id is ${JSON.stringify(clientId)}, expected "first-party"`);
  await oauth2.locator("input#oauth_username").fill(username);
  await oauth2.locator("input#oauth_password").fill(password);
  await oauth2.locator("button.authorize").click();
  await oauth2
    .locator("button", { hasText: "Logout" })
    .waitFor({ timeout: 15000 })
    .catch(async (error) => {
      const text = await oauth2.innerText();
      throw new Error(`the password flow did not authorize (${error.message}):\n${text}`);
    });
  await page.screenshot({ path: join(outDir, "authorized.png") });
  await oauth2.locator("button.btn-done").click();

  // Try it out on GET /users/me.
  const op = page.locator("#operations-users-get_me");
  await op.locator(".opblock-summary").click();
  await op.locator("button.try-out__btn").click();
  await op.locator("button.execute").click();
  const live = op.locator(".live-responses-table .response").first();
  await live.waitFor({ timeout: 15000 });
  const status = (await live.locator(".response-col_status").innerText()).trim();
  const body = await live.locator(".response-col_description pre").first().innerText();
  if (status !== "200") throw new Error(`GET /users/me answered ${status}:\n${body}`);
  const profile = JSON.parse(body);
  if (profile.username !== username) throw new Error(`unexpected profile: ${body}`);
  if (!Array.isArray(profile.scopes) || !profile.scopes.includes("profile")) {
    throw new Error(`the token lacks the profile scope: ${body}`);
  }
  await live.scrollIntoViewIfNeeded();
  await op.screenshot({ path: join(outDir, "users-me-200.png") });
  await page.screenshot({ path: join(outDir, "docs-page.png"), fullPage: true });

  for (const violation of await page.evaluate(() => window.__cspViolations)) {
    problems.push(`CSP violation: ${violation}`);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  console.log(`GET /users/me -> ${status} ${JSON.stringify(profile)}`);
} catch (error) {
  if (page) await page.screenshot({ path: join(outDir, "failure.png"), fullPage: true }).catch(() => {});
  console.error(error instanceof Error ? error.message : error);
  if (problems.length > 0) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
}
