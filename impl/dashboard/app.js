
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;
  let csrf = "";
  let pollTimer = 0;
  let tickTimer = 0;
  let skewMs = 0; // server clock minus this browser's, from the Date header
  let locks = [];
  let seen = new Set();

  function show(id, on) { $(id).hidden = !on; }

  function fail(message) {
    $("error").textContent = message;
    show("error", !!message);
  }

  async function api(method, path) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    const res = await fetch(path, { method, headers, credentials: "same-origin", cache: "no-store" });
    const date = Date.parse(res.headers.get("Date") || "");
    if (!Number.isNaN(date)) skewMs = date - Date.now();
    if (res.status === 401) { signedOut(); throw new Error("signed out"); }
    if (!res.ok) {
      let detail = res.status + " " + res.statusText;
      try { detail = (await res.json()).detail || detail; } catch (_) { /* not JSON */ }
      throw new Error(detail);
    }
    return res.status === 204 ? null : res.json();
  }

  function signedOut() {
    clearTimeout(pollTimer);
    clearInterval(tickTimer);
    show("loading", false);
    show("signed-in", false);
    show("who", false);
    show("signed-out", true);
    $("account").textContent = "";
  }

  function curlLines(token) {
    const url = location.origin;
    return [
      "export OCTOSTORE_TOKEN=" + (token || "<your token>"),
      "",
      "curl -X POST " + url + "/locks/my-job/acquire \\",
      "  -H \"Authorization: Bearer $OCTOSTORE_TOKEN\" \\",
      "  -H \"Content-Type: application/json\" -d '{\"ttl_seconds\":60}'",
      "",
      "curl " + url + "/locks -H \"Authorization: Bearer $OCTOSTORE_TOKEN\"",
    ].join("\n");
  }

  function showToken(issued) {
    $("token").textContent = issued.token;
    $("curl").textContent = curlLines(issued.token);
    show("fresh", true);
    show("stale", false);
  }

  function signedIn(s) {
    csrf = s.csrf_token;
    $("login").textContent = s.login;
    $("initials").textContent = s.login.slice(0, 2).toUpperCase();
    $("avatar").alt = s.login;
    $("avatar").src = s.avatar_url;
    $("token-id").textContent = s.token_id;
    $("account").textContent = "Account " + s.account_id;
    if (s.new_token) {
      showToken(s.new_token);
    } else {
      $("curl").textContent = curlLines("");
      show("fresh", false);
      show("stale", true);
    }
    show("loading", false);
    show("signed-out", false);
    show("who", true);
    show("signed-in", true);
    poll();
    tickTimer = setInterval(renderExpiry, 1000);
  }

  function remaining(expiresAt) {
    const s = Math.max(0, Math.round((Date.parse(expiresAt) - (Date.now() + skewMs)) / 1000));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    return m < 60 ? m + " min " + (s % 60) + " s" : Math.floor(m / 60) + " h " + (m % 60) + " min";
  }

  function cell(text, cls, label) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    if (label) td.dataset.label = label;
    return td;
  }

  function renderLocks() {
    const body = $("lock-rows");
    body.replaceChildren();
    for (const l of locks) {
      const tr = document.createElement("tr");
      tr.dataset.testid = "lock-row";
      tr.dataset.name = l.name;
      if (!seen.has(l.name)) tr.className = "new";
      tr.append(
        cell(l.name, "name"),
        cell(l.holder_id || "", "holder"),
        cell(String(l.fencing_token ?? ""), "num fencing", "fencing"),
        cell(remaining(l.expires_at), "num expiry", "expires in"),
      );
      body.append(tr);
    }
    seen = new Set(locks.map((l) => l.name));
    show("locks", locks.length > 0);
    show("no-locks", locks.length === 0);
  }

  function renderExpiry() {
    const cells = document.querySelectorAll("#lock-rows td.expiry");
    locks.forEach((l, i) => { if (cells[i]) cells[i].textContent = remaining(l.expires_at); });
  }

  async function poll() {
    clearTimeout(pollTimer);
    try {
      locks = (await api("GET", "/dashboard/locks")).locks;
      renderLocks();
      $("live").classList.remove("stale");
      $("live-text").textContent = "live";
    } catch (e) {
      if (e.message === "signed out") return;
      $("live").classList.add("stale");
      $("live-text").textContent = "reconnecting";
    }
    pollTimer = setTimeout(poll, document.hidden ? POLL_MS * 5 : POLL_MS);
  }

  $("avatar").addEventListener("load", () => { show("avatar", true); show("initials", false); });
  $("avatar").addEventListener("error", () => { show("avatar", false); show("initials", true); });

  $("rotate").addEventListener("click", async (ev) => {
    if (!confirm("Rotate your token? The current one stops working immediately.")) return;
    const btn = ev.currentTarget;
    btn.disabled = true;
    try {
      showToken(await api("POST", "/dashboard/token/rotate"));
      fail("");
    } catch (e) {
      if (e.message !== "signed out") fail("Could not rotate the token: " + e.message);
    } finally {
      btn.disabled = false;
    }
  });

  $("sign-out").addEventListener("click", async () => {
    try { await api("POST", "/dashboard/sign-out"); } catch (_) { /* signed out either way */ }
    csrf = "";
    signedOut();
  });

  $("sign-out-everywhere").addEventListener("click", async () => {
    if (!confirm("Sign out in every browser? Your token keeps working.")) return;
    try { await api("POST", "/dashboard/sign-out-everywhere"); } catch (_) { /* signed out either way */ }
    csrf = "";
    signedOut();
  });

  for (const btn of document.querySelectorAll("[data-copy]")) {
    btn.addEventListener("click", async () => {
      const text = $(btn.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents($(btn.dataset.copy));
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        return;
      }
      btn.textContent = "Copied";
      btn.classList.add("done");
      setTimeout(() => { btn.textContent = "Copy"; btn.classList.remove("done"); }, 1500);
    });
  }

  document.addEventListener("visibilitychange", () => { if (!document.hidden && csrf) poll(); });

  api("GET", "/dashboard/session").then(signedIn, (e) => {
    if (e.message !== "signed out") { show("loading", false); fail("Could not load the dashboard: " + e.message); }
  });
})();
