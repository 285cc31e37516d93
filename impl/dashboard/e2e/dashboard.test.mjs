// The dashboard in a real browser: Debian's Chromium, driven by playwright-core, against
// the real octostore-lock binary and a stand-in GitHub, both started by e2e_test.go,
// which passes their addresses in the environment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.OCTOSTORE_URL;
const github = process.env.GITHUB_URL;
const shots = process.env.SCREENSHOT_DIR;
const desktop = { width: 1280, height: 860 };
const phone = { width: 390, height: 844 };

let context;
let profile;

before(async () => {
  assert.ok(base && github && shots, "OCTOSTORE_URL, GITHUB_URL and SCREENSHOT_DIR must be set (run through e2e_test.go)");
  await mkdir(shots, { recursive: true });
  profile = await mkdtemp(path.join(tmpdir(), "octostore-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    viewport: desktop,
    timeout: 60_000,
  });
  context.setDefaultTimeout(15_000);
});

after(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

// api calls the lock API as curl would: plain HTTP with a bearer token.
async function api(method, p, token, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function screenshot(page, name) {
  for (const [size, viewport] of [["desktop", desktop], ["phone", phone]]) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: path.join(shots, `${name}-${size}.png`), fullPage: true, animations: "disabled" });
  }
  await page.setViewportSize(desktop);
}

test("sign in with GitHub, lock with the token, see it live, rotate, sign out", async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  const elsewhere = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.origin !== base && !(u.origin === github && u.pathname === "/login/oauth/authorize")) elsewhere.push(r.url());
  });
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });

  // Signed out: the page offers sign-in.
  await page.goto(base + "/dashboard");
  const signIn = page.getByRole("link", { name: "Sign in with GitHub" });
  await signIn.waitFor();
  await screenshot(page, "signed-out");

  // GitHub (the stand-in) approves and sends the browser back; it lands on /dashboard.
  await signIn.click();
  await page.waitForURL(base + "/dashboard");
  const tokenEl = page.getByTestId("token");
  await tokenEl.waitFor();
  const token = (await tokenEl.textContent()).trim();
  assert.match(token, /^oct_tok_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
  assert.equal(await page.locator("#login").textContent(), "octocat");
  assert.ok((await page.locator("#curl").textContent()).includes(`export OCTOSTORE_TOKEN=${token}`));
  await page.waitForFunction(() => document.getElementById("avatar").naturalWidth > 0);

  // The token works with plain HTTP, and the lock shows up on the dashboard.
  const acquired = await api("POST", "/locks/nightly-report/acquire", token, { ttl_seconds: 300, owner: "e2e" });
  assert.equal(acquired.status, 200);
  assert.equal(acquired.body.status, "acquired");
  const row = page.locator('tr[data-testid="lock-row"][data-name="nightly-report"]');
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(`${acquired.body.fencing_token}`));
  assert.match(await row.textContent(), /\/e2e/);
  const second = await api("POST", "/locks/deploy.prod/acquire", token, { ttl_seconds: 45 });
  assert.equal(second.body.status, "acquired");
  await page.locator('tr[data-testid="lock-row"][data-name="deploy.prod"]').waitFor();
  await screenshot(page, "dashboard");

  // A state-changing request without the CSRF token is refused.
  const forged = await page.evaluate(async () => (await fetch("/dashboard/token/rotate", { method: "POST" })).status);
  assert.equal(forged, 403);
  assert.equal((await api("GET", "/locks", token)).status, 200);

  // Rotate: the page shows a new token; the old one is refused at once.
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Rotate token" }).click();
  await page.waitForFunction((old) => {
    const t = document.querySelector('[data-testid="token"]').textContent;
    return t && t !== old;
  }, token);
  const rotated = (await tokenEl.textContent()).trim();
  assert.notEqual(rotated, token);
  const refused = await api("GET", "/locks", token);
  assert.equal(refused.status, 401);
  assert.equal(refused.body.code, "unauthorized");
  const listed = await api("GET", "/locks", rotated);
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.locks.map((l) => l.name), ["deploy.prod", "nightly-report"]);

  // Released with the new token, the lock leaves the dashboard.
  const released = await api("POST", "/locks/nightly-report/release", rotated, { lease_id: acquired.body.lease_id });
  assert.equal(released.body.status, "released");
  await row.waitFor({ state: "detached" });

  // Sign out ends the session: a reload stays signed out.
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await signIn.waitFor();
  await page.reload();
  await signIn.waitFor();
  assert.equal(await page.evaluate(async () => (await fetch("/dashboard/session")).status), 401);

  // Sign out everywhere: a second browser's session ends too, the token keeps working.
  await signIn.click();
  await page.waitForURL(base + "/dashboard");
  await page.locator("#login").waitFor();
  const other = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
  });
  try {
    const otherPage = await (await other.newContext()).newPage();
    await otherPage.goto(base + "/dashboard");
    await otherPage.getByRole("link", { name: "Sign in with GitHub" }).click();
    await otherPage.waitForURL(base + "/dashboard");
    await otherPage.locator("#login").waitFor();
    assert.equal(await otherPage.evaluate(async () => (await fetch("/dashboard/session")).status), 200);
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await signIn.waitFor();
    assert.equal(await otherPage.evaluate(async () => (await fetch("/dashboard/session")).status), 401);
  } finally {
    await other.close();
  }
  assert.equal((await api("GET", "/locks", rotated)).status, 200);

  assert.deepEqual(elsewhere, [], "the dashboard talked to another host");
  assert.deepEqual(consoleErrors.filter((e) => !/status of 40[13]/.test(e)), [], "console errors");
});
