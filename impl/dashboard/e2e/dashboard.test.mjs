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
const plain = process.env.OCTOSTORE_PLAIN_URL; // no GitHub, ADMIN_KEY set
const adminKey = process.env.ADMIN_KEY;
const desktop = { width: 1280, height: 800 };
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

// admin calls the plain server's admin API with the key, as an operator's script would.
async function admin(method, p, body) {
  const headers = { "X-Admin-Key": adminKey };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(plain + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

async function plainApi(method, p, token, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(plain + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

test("without GitHub: paste a token, see locks live, release, rotate; then the operator view", async () => {
  assert.ok(plain && adminKey, "OCTOSTORE_PLAIN_URL and ADMIN_KEY must be set");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
  });
  try {
    const ctx = await browser.newContext({ viewport: desktop });
    ctx.setDefaultTimeout(15_000);
    const page = await ctx.newPage();
    const elsewhere = [];
    page.on("request", (r) => { if (new URL(r.url()).origin !== plain) elsewhere.push(r.url()); });
    const consoleErrors = [];
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });

    const created = await admin("POST", "/admin/accounts", { name: "e2e-team" });
    assert.equal(created.status, 201);
    const token = created.body.token;
    const accountId = created.body.account_id;
    const worker = await admin("POST", `/admin/accounts/${accountId}/tokens`, { name: "worker" });
    assert.equal(worker.status, 201);

    // Signed out: no GitHub button, a token form and the operator form.
    await page.goto(plain + "/dashboard");
    const tokenInput = page.locator("#token-input");
    await tokenInput.waitFor();
    assert.equal(await page.getByRole("link", { name: "Sign in with GitHub" }).isVisible(), false);
    await page.locator("#admin-key").waitFor();
    await screenshot(page, "token-signed-out");

    // A wrong token: a clear error, no session.
    await tokenInput.fill("oct_tok_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.locator("#token-error").waitFor();
    assert.match(await page.locator("#token-error").textContent(), /not valid/);
    assert.deepEqual((await ctx.cookies()).map((c) => c.name), []);

    // The right token: signed in; the browser keeps a session cookie, never the token.
    await tokenInput.fill(token);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.locator("#signed-in").waitFor();
    assert.equal(await page.locator("#login").textContent(), accountId);
    assert.equal(await tokenInput.inputValue(), "");
    const cookies = await ctx.cookies();
    assert.deepEqual(cookies.map((c) => c.name), ["__Host-octostore_session"]);
    assert.ok(cookies[0].httpOnly && cookies[0].secure);
    assert.ok(!cookies.some((c) => c.value.includes(token)), "a cookie carries the token");
    const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]));
    assert.equal(stored, '[{},{},""]');

    // Locks taken with plain HTTP show up live, with holder, fencing token, expiry and metadata.
    const mine = await plainApi("POST", "/locks/deploy.prod/acquire", token, { ttl_seconds: 300, owner: "ci", metadata: "leader at 10.0.0.7" });
    assert.equal(mine.body.status, "acquired");
    const theirs = await plainApi("POST", "/locks/nightly-report/acquire", worker.body.token, { ttl_seconds: 600, owner: "cron" });
    assert.equal(theirs.body.status, "acquired");
    const row = page.locator('#lock-rows tr[data-name="deploy.prod"]');
    await row.waitFor();
    const text = await row.textContent();
    assert.match(text, new RegExp(String(mine.body.fencing_token)));
    assert.match(text, /leader at 10\.0\.0\.7/);
    assert.match(text, /\/ci/);
    assert.match(await row.locator("td.expiry").textContent(), /min/);
    const other = page.locator('#lock-rows tr[data-name="nightly-report"]');
    await other.waitFor();
    assert.equal(await other.getByRole("button", { name: "Release" }).count(), 0, "another token's lock offers Release");
    await screenshot(page, "token-dashboard");

    // Without the CSRF token the release is refused; with the button it goes through.
    const forged = await page.evaluate(async () => (await fetch("/dashboard/locks/deploy.prod/release", { method: "POST", headers: { "X-CSRF-Token": "forged" } })).status);
    assert.equal(forged, 403);
    assert.equal((await plainApi("GET", "/locks/deploy.prod", token)).body.status, "held");
    await row.getByRole("button", { name: "Release" }).click();
    await row.waitFor({ state: "detached" });
    assert.equal((await plainApi("GET", "/locks/deploy.prod", token)).body.status, "free");

    // Rotate: a new token is shown once, the old one is refused, the session stays.
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Rotate token" }).click();
    const tokenEl = page.getByTestId("token");
    await page.waitForFunction(() => document.querySelector('[data-testid="token"]').textContent !== "");
    const rotated = (await tokenEl.textContent()).trim();
    assert.notEqual(rotated, token);
    assert.equal((await plainApi("GET", "/locks", token)).status, 401);
    assert.equal((await plainApi("GET", "/locks", rotated)).status, 200);
    assert.equal(await page.evaluate(async () => (await fetch("/dashboard/session")).status), 200);

    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await tokenInput.waitFor();
    assert.equal(await page.evaluate(async () => (await fetch("/dashboard/session")).status), 401);

    // The operator view: a wrong key is refused; the right one opens it.
    const keyInput = page.locator("#admin-key");
    await keyInput.fill("not-the-key");
    await page.getByRole("button", { name: "Open operator view" }).click();
    await page.locator("#admin-error").waitFor();
    assert.match(await page.locator("#admin-error").textContent(), /not the server's admin key/);
    await keyInput.fill(adminKey);
    await page.getByRole("button", { name: "Open operator view" }).click();
    await page.locator("#operator").waitFor();
    assert.equal(await keyInput.inputValue(), "");
    const opCookie = (await ctx.cookies()).find((c) => c.name === "__Host-octostore_admin");
    assert.ok(opCookie && opCookie.httpOnly && opCookie.sameSite === "Strict" && !opCookie.value.includes(adminKey));
    const accountRow = page.locator(`tr[data-testid="account-row"][data-id="${accountId}"]`);
    await accountRow.waitFor();
    assert.equal(await page.locator("#op-cluster").isVisible(), false, "a single node shows a cluster card");
    await accountRow.getByRole("button", { name: "Open" }).click();
    await page.locator('#token-rows tr[data-testid="token-row"]').nth(1).waitFor();
    await page.locator('#op-lock-rows tr[data-name="nightly-report"]').waitFor();
    await screenshot(page, "operator");

    // Changes need the operator session's CSRF token.
    const forgedRevoke = await page.evaluate(async (p) => (await fetch(p, { method: "DELETE", headers: { "X-CSRF-Token": "forged" } })).status,
      `/dashboard/admin/accounts/${accountId}/tokens/${worker.body.token_id}`);
    assert.equal(forgedRevoke, 403);
    assert.equal((await plainApi("GET", "/locks", worker.body.token)).status, 200);

    // Revoke the worker's token, then delete the account.
    page.once("dialog", (d) => d.accept());
    await page.locator(`#token-rows tr[data-id="${worker.body.token_id}"]`).getByRole("button", { name: "Revoke" }).click();
    await page.locator(`#token-rows tr[data-id="${worker.body.token_id}"]`).waitFor({ state: "detached" });
    assert.equal((await plainApi("GET", "/locks", worker.body.token)).status, 401);
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Delete account" }).click();
    await accountRow.waitFor({ state: "detached" });
    assert.equal((await plainApi("GET", "/locks", rotated)).status, 401);
    assert.equal((await admin("GET", `/admin/accounts/${accountId}/tokens`)).status, 404);

    await page.getByRole("button", { name: "Leave operator view" }).click();
    await keyInput.waitFor();
    assert.equal(await page.evaluate(async () => (await fetch("/dashboard/admin/session")).status), 401);

    assert.deepEqual(elsewhere, [], "the dashboard talked to another host");
    // 404: the cluster card's request on a single node.
    assert.deepEqual(consoleErrors.filter((e) => !/status of 40[134]/.test(e)), [], "console errors");
  } finally {
    await browser.close();
  }
});
