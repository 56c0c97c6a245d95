// Browser sign-in in headless Debian chromium (playwright-core) with a small relying
// party built on openid-client (the certified OpenID Connect RP library for JavaScript):
//   the app's "Sign in" → Rampart's login page → consent → the app's callback, where
//   openid-client exchanges the code (PKCE S256, RFC 9207 iss check) and validates the ID
//   token itself (signature from the JWKS, iss, aud, exp, nonce) → /userinfo → the app's
//   logout → Rampart's end-session endpoint with the ID token → back at the app.
// Screenshots of the login page (desktop and 320 px) and the consent page go to OUT_DIR.
// Run by tests/docs_browser.rs, which starts the server with native TLS and passes:
//   RAMPART_URL  https://localhost:PORT    RAMPART_PASSWORD (user admin)
//   CHROMIUM     /usr/bin/chromium         OUT_DIR
//   NODE_EXTRA_CA_CERTS  the dev certificate (the RP's own HTTPS calls trust it)
// Exits non-zero with a message on any failure, CSP violation or console error.

import { chromium } from "playwright-core";
import * as oidc from "openid-client";
import { createServer } from "node:http";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = mustEnv("RAMPART_URL");
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

async function json(response) {
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status} ${response.url}: ${text}`);
  return JSON.parse(text);
}

// Register the relying party through the admin API (confidential, not first-party, so
// the consent page shows).
const admin = await json(
  await fetch(`${base}/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "password", username: "admin", password, scope: "admin" }),
  }),
);

// The relying party: plain HTTP on a loopback port (RFC 8252 loopback redirect).
const sessions = new Map();
const server = createServer((req, res) => handle(req, res).catch((e) => {
  res.writeHead(500, { "content-type": "text/plain" }).end(`RP error: ${e.message}\n${e.cause ? JSON.stringify(e.cause) : ""}`);
}));
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const rp = `http://127.0.0.1:${server.address().port}`;

const registered = await json(
  await fetch(`${base}/admin/clients`, {
    method: "POST",
    headers: { authorization: `Bearer ${admin.access_token}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: "Notes (browser test)",
      confidential: true,
      grants: ["authorization_code", "refresh_token"],
      scopes: ["openid", "profile", "email"],
      redirect_uris: ["http://127.0.0.1/callback"],
      post_logout_redirect_uris: [`${rp}/bye`],
      token_endpoint_auth_method: "client_secret_basic",
    }),
  }),
);
const config = await oidc.discovery(
  new URL(base),
  registered.client_id,
  undefined,
  oidc.ClientSecretBasic(registered.client_secret),
);

function page(body) {
  return `<!doctype html><meta charset="utf-8"><title>Notes</title><main>${body}</main>`;
}

async function handle(req, res) {
  const url = new URL(req.url, rp);
  const sid = (req.headers.cookie || "").match(/rp=([a-z0-9]+)/)?.[1];
  const session = sid && sessions.get(sid);
  if (url.pathname === "/") {
    const body = session?.user
      ? `<p id="hello">Hello ${session.user.preferred_username}</p><a id="logout" href="/logout">Sign out</a>`
      : `<a id="signin" href="/signin">Sign in</a>`;
    res.writeHead(200, { "content-type": "text/html" }).end(page(body));
  } else if (url.pathname === "/signin") {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const id = Math.random().toString(36).slice(2);
    sessions.set(id, { verifier, state, nonce });
    const target = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${rp}/callback`,
      scope: "openid profile email",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    res.writeHead(302, { location: target.href, "set-cookie": `rp=${id}; Path=/; HttpOnly` }).end();
  } else if (url.pathname === "/callback") {
    if (!session) throw new Error("no RP session");
    const tokens = await oidc.authorizationCodeGrant(config, url, {
      pkceCodeVerifier: session.verifier,
      expectedState: session.state,
      expectedNonce: session.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    session.idToken = tokens.id_token;
    session.user = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    session.claims = claims;
    res.writeHead(302, { location: "/" }).end();
  } else if (url.pathname === "/logout") {
    const target = oidc.buildEndSessionUrl(config, {
      id_token_hint: session.idToken,
      post_logout_redirect_uri: `${rp}/bye`,
      state: "bye-state",
    });
    sessions.delete(sid);
    res.writeHead(302, { location: target.href }).end();
  } else if (url.pathname === "/bye") {
    res.writeHead(200, { "content-type": "text/html" }).end(page(`<p id="bye">Signed out (${url.searchParams.get("state")})</p>`));
  } else {
    res.writeHead(404).end();
  }
}

const problems = [];
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
let tab;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`);
    });
  });
  tab = await context.newPage();
  // HTTP statuses are the flow's own assertions (the wrong password's 401; favicons, which
  // neither server has, 404): "Failed to load resource" is not a page problem.
  tab.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
      problems.push(`console error on ${tab.url()}: ${m.text()}`);
    }
  });
  tab.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  tab.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const cspCheck = async (where) => {
    for (const v of await tab.evaluate(() => window.__cspViolations)) problems.push(`CSP violation on ${where}: ${v}`);
  };

  // The app's Sign in → Rampart's login page.
  await tab.goto(`${rp}/`);
  await tab.click("#signin");
  await tab.waitForURL((u) => u.href.startsWith(`${base}/oauth/authorize`));
  const username = tab.getByLabel("Username");
  await username.waitFor();
  if ((await username.getAttribute("autocomplete")) !== "username") throw new Error("username lacks autocomplete=username");
  const passwordField = tab.getByLabel("Password");
  if ((await passwordField.getAttribute("autocomplete")) !== "current-password") throw new Error("password lacks autocomplete");
  await cspCheck("the login page");
  await tab.screenshot({ path: join(outDir, "login.png") });
  // Usable at 320 px: nothing wider than the screen.
  await tab.setViewportSize({ width: 320, height: 640 });
  const overflow = await tab.evaluate(() => document.documentElement.scrollWidth);
  if (overflow > 320) throw new Error(`the login page is ${overflow}px wide at a 320px viewport`);
  await tab.screenshot({ path: join(outDir, "login-320.png") });
  await tab.setViewportSize({ width: 1280, height: 900 });

  // A wrong password first: one message, still the login form.
  await username.fill("admin");
  await passwordField.fill("not the password");
  await tab.getByRole("button", { name: "Sign in" }).click();
  await tab.getByRole("alert").waitFor();
  const alert = await tab.getByRole("alert").innerText();
  if (!alert.includes("The username or password is incorrect.")) throw new Error(`unexpected message: ${alert}`);

  // The right one → the consent page.
  await tab.getByLabel("Username").fill("admin");
  await tab.getByLabel("Password").fill(password);
  await tab.getByRole("button", { name: "Sign in" }).click();
  await tab.getByRole("button", { name: "Allow" }).waitFor();
  const consentText = await tab.locator("main").innerText();
  for (const needle of ["Notes (browser test)", "See your email address", "Signed in as admin"]) {
    if (!consentText.includes(needle)) throw new Error(`the consent page lacks ${JSON.stringify(needle)}:\n${consentText}`);
  }
  await cspCheck("the consent page");
  await tab.screenshot({ path: join(outDir, "consent.png") });

  // Allow → the app's callback (openid-client checks everything) → the app's home page.
  await tab.getByRole("button", { name: "Allow" }).click();
  await tab.waitForURL(`${rp}/`);
  const hello = await tab.locator("body").innerText();
  if (!hello.includes("Hello admin")) throw new Error(`the app did not sign in:\n${hello}`);
  console.log("signed in through openid-client: Hello admin");

  // Sign out at the app → Rampart's end-session endpoint → the app's /bye.
  await tab.click("#logout");
  await tab.waitForURL((u) => u.href.startsWith(`${rp}/bye`));
  const bye = await tab.locator("#bye").innerText();
  if (!bye.includes("bye-state")) throw new Error(`unexpected logout landing: ${bye}`);
  console.log("RP-initiated logout -> back at the app");

  // Signing in again asks for the password again: the browser session ended.
  await tab.goto(`${rp}/`);
  await tab.click("#signin");
  await tab.getByLabel("Password").waitFor();
  console.log("after logout the login page shows again");

  if (problems.length > 0) throw new Error(problems.join("\n"));
} catch (error) {
  if (tab) await tab.screenshot({ path: join(outDir, "signin-failure.png"), fullPage: true }).catch(() => {});
  console.error(error instanceof Error ? `${error.message}\n${error.stack}` : error);
  if (problems.length > 0) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
