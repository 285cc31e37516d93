"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;
  let csrf = "";       // the account session's CSRF token
  let opCsrf = "";     // the operator session's
  let tokenId = "";    // the session's token: locks it holds can be released here
  let pollTimer = 0;
  let opPollTimer = 0;
  let tickTimer = 0;
  let skewMs = 0; // server clock minus this browser's, from the Date header
  let locks = [];
  let opLocks = [];
  let seen = new Set();
  let opAccount = null;
  let opCursor = "";
  let methods = { github: false, token: true, admin: false };

  function show(id, on) { $(id).hidden = !on; }

  function fail(message) {
    $("error").textContent = message;
    show("error", !!message);
  }

  class Unauthorized extends Error {}

  // api calls the server with this browser's cookies; secrets go in bodies only, never
  // in storage or URLs. kind "operator" sends the operator session's CSRF token.
  async function api(method, path, { body, kind = "account" } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = kind === "operator" ? opCsrf : csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const date = Date.parse(res.headers.get("Date") || "");
    if (!Number.isNaN(date)) skewMs = date - Date.now();
    if (!res.ok) {
      let detail = res.status + " " + res.statusText;
      try { detail = (await res.json()).detail || detail; } catch (_) { /* not JSON */ }
      if (res.status === 401) throw new Unauthorized(detail);
      throw new Error(detail);
    }
    return res.status === 204 ? null : res.json();
  }

  function signedOut() {
    clearTimeout(pollTimer);
    csrf = "";
    show("signed-in", false);
    show("who", false);
    $("account").textContent = "";
    if (!opCsrf) showSignIn();
  }

  function showSignIn() {
    clearInterval(tickTimer);
    show("loading", false);
    show("operator", false);
    show("op-who", false);
    show("sign-in", methods.github);
    show("github-note", methods.github);
    show("or", methods.github);
    show("admin-form", methods.admin);
    show("signed-out", true);
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

  function startTicking() {
    clearInterval(tickTimer);
    tickTimer = setInterval(() => { renderExpiry("lock-rows", locks); renderExpiry("op-lock-rows", opLocks); renderOpExpiry(); }, 1000);
  }

  function signedIn(s) {
    csrf = s.csrf_token;
    tokenId = s.token_id;
    const byToken = s.method === "token";
    $("login").textContent = byToken ? s.account_id : s.login;
    $("initials").textContent = byToken ? "T" : s.login.slice(0, 2).toUpperCase();
    if (s.avatar_url) {
      $("avatar").alt = s.login;
      $("avatar").src = s.avatar_url;
    } else {
      show("avatar", false);
      show("initials", true);
    }
    $("token-id").textContent = s.token_id;
    $("account").textContent = "Account " + s.account_id + (byToken ? " · signed in with token " + s.token_id : "");
    if (s.new_token) {
      showToken(s.new_token);
    } else {
      $("curl").textContent = curlLines("");
      show("fresh", false);
      show("stale", true);
    }
    show("loading", false);
    show("signed-out", false);
    show("operator", false);
    show("op-who", false);
    show("who", true);
    show("signed-in", true);
    poll();
    startTicking();
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

  function button(text, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "btn small " + (cls || "");
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function lockRow(l, actions) {
    const tr = document.createElement("tr");
    tr.dataset.testid = "lock-row";
    tr.dataset.name = l.name;
    tr.append(
      cell(l.name, "name"),
      cell(l.holder_id || "", "holder"),
      cell(String(l.fencing_token ?? ""), "num fencing", "fencing"),
      cell(remaining(l.expires_at), "num expiry", "expires in"),
      cell(l.metadata || "", "meta", l.metadata ? "metadata" : ""),
    );
    if (actions) {
      const td = cell("", "act");
      td.append(...actions);
      tr.append(td);
    }
    return tr;
  }

  function renderLocks() {
    const body = $("lock-rows");
    body.replaceChildren();
    for (const l of locks) {
      const mine = (l.holder_id || "").split("/")[0] === tokenId;
      const tr = lockRow(l, mine ? [button("Release", "", (ev) => release(ev.currentTarget, l.name))] : [cell("", "")]);
      if (!seen.has(l.name)) tr.className = "new";
      body.append(tr);
    }
    seen = new Set(locks.map((l) => l.name));
    show("locks", locks.length > 0);
    show("no-locks", locks.length === 0);
  }

  function renderExpiry(tbody, list) {
    const cells = document.querySelectorAll("#" + tbody + " td.expiry");
    list.forEach((l, i) => { if (cells[i]) cells[i].textContent = remaining(l.expires_at); });
  }

  async function release(btn, name) {
    btn.disabled = true;
    try {
      await api("POST", "/dashboard/locks/" + encodeURIComponent(name) + "/release");
      fail("");
      poll();
    } catch (e) {
      if (e instanceof Unauthorized) signedOut();
      else fail("Could not release " + name + ": " + e.message);
      btn.disabled = false;
    }
  }

  async function poll() {
    clearTimeout(pollTimer);
    try {
      locks = (await api("GET", "/dashboard/locks")).locks;
      renderLocks();
      $("live").classList.remove("stale");
      $("live-text").textContent = "live";
    } catch (e) {
      if (e instanceof Unauthorized) { signedOut(); return; }
      $("live").classList.add("stale");
      $("live-text").textContent = "reconnecting";
    }
    pollTimer = setTimeout(poll, document.hidden ? POLL_MS * 5 : POLL_MS);
  }

  // --- The operator view -------------------------------------------------------------

  let opExpires = "";
  function renderOpExpiry() {
    if (opExpires) $("op-expiry").textContent = "ends in " + remaining(opExpires);
  }

  function operatorOut(message) {
    clearTimeout(opPollTimer);
    opCsrf = "";
    opAccount = null;
    show("operator", false);
    show("op-who", false);
    if (csrf) { show("who", true); show("signed-in", true); } else showSignIn();
    if (message) { $("admin-error").textContent = message; show("admin-error", true); }
  }

  function operatorIn(s) {
    opCsrf = s.csrf_token;
    opExpires = s.expires_at;
    renderOpExpiry();
    show("loading", false);
    show("signed-out", false);
    show("signed-in", false);
    show("who", false);
    show("op-who", true);
    show("operator", true);
    startTicking();
    loadAccounts(false);
    loadCluster();
  }

  function opFailed(e, what) {
    if (e instanceof Unauthorized) operatorOut("The operator session ended; paste the admin key again.");
    else fail(what + ": " + e.message);
  }

  async function loadAccounts(more) {
    try {
      const q = "?limit=50" + (more && opCursor ? "&cursor=" + encodeURIComponent(opCursor) : "");
      const page = await api("GET", "/dashboard/admin/accounts" + q, { kind: "operator" });
      const body = $("account-rows");
      if (!more) body.replaceChildren();
      for (const a of page.accounts) {
        const tr = document.createElement("tr");
        tr.dataset.testid = "account-row";
        tr.dataset.id = a.account_id;
        const open = button("Open", "", () => openAccount(a));
        tr.append(cell(a.name, "name"), cell(a.github_login || "", "holder", a.github_login ? "github" : ""),
          cell(a.account_id, "holder"), cell(String(a.active_locks), "num", "locks"));
        const td = cell("", "act");
        td.append(open);
        tr.append(td);
        body.append(tr);
      }
      opCursor = page.next_cursor || "";
      show("op-more", !!opCursor);
      fail("");
    } catch (e) { opFailed(e, "Could not list accounts"); }
  }

  // The cluster card: only when this server is a cluster node (404 on a single node).
  async function loadCluster() {
    try {
      const c = await api("GET", "/dashboard/admin/cluster", { kind: "operator" });
      $("cluster-summary").textContent = (c.leader ? "leader " + c.leader : "no leader") + " · term " + c.term;
      $("node-rows").replaceChildren(...c.nodes.map((n) => {
        const tr = document.createElement("tr");
        tr.dataset.testid = "node-row";
        tr.append(cell(n.id, "name"), cell(n.state + (n.suffrage !== "voter" ? " (" + n.suffrage + ")" : ""), "", "state"),
          cell(n.raft_addr, "holder"), cell(n.http_url, "holder"), cell(String(n.last_index), "num", "index"));
        return tr;
      }));
      show("op-cluster", true);
    } catch (e) {
      show("op-cluster", false);
      if (e instanceof Unauthorized) opFailed(e, "");
    }
  }

  async function openAccount(a) {
    opAccount = a;
    $("op-account-title").textContent = a.name + (a.github_login ? " (@" + a.github_login + ")" : "");
    show("op-account", true);
    await loadTokens();
    pollAccountLocks();
    $("op-account").scrollIntoView({ block: "nearest" });
  }

  async function loadTokens() {
    const a = opAccount;
    try {
      const list = (await api("GET", "/dashboard/admin/accounts/" + a.account_id + "/tokens", { kind: "operator" })).tokens;
      const body = $("token-rows");
      body.replaceChildren();
      for (const t of list) {
        const tr = document.createElement("tr");
        tr.dataset.testid = "token-row";
        tr.dataset.id = t.token_id;
        tr.append(cell(t.token_id, "name"), cell(t.name || "", "holder", t.name ? "label" : ""),
          cell(t.last_used_at ? new Date(t.last_used_at).toLocaleString() : "never", "holder", "last used"));
        const td = cell("", "act");
        td.append(button("Revoke", "danger", async (ev) => {
          if (!confirm("Revoke token " + t.token_id + "? It stops working immediately.")) return;
          ev.currentTarget.disabled = true;
          try {
            await api("DELETE", "/dashboard/admin/accounts/" + a.account_id + "/tokens/" + t.token_id, { kind: "operator" });
            loadTokens();
          } catch (e) { opFailed(e, "Could not revoke"); }
        }));
        tr.append(td);
        body.append(tr);
      }
    } catch (e) { opFailed(e, "Could not list tokens"); }
  }

  async function pollAccountLocks() {
    clearTimeout(opPollTimer);
    const a = opAccount;
    if (!a) return;
    try {
      opLocks = (await api("GET", "/dashboard/admin/accounts/" + a.account_id + "/locks", { kind: "operator" })).locks;
      const body = $("op-lock-rows");
      body.replaceChildren(...opLocks.map((l) => lockRow(l)));
      show("op-locks", opLocks.length > 0);
      show("op-no-locks", opLocks.length === 0);
    } catch (e) {
      opFailed(e, "Could not list locks");
      if (e instanceof Unauthorized) return;
    }
    opPollTimer = setTimeout(pollAccountLocks, document.hidden ? POLL_MS * 5 : POLL_MS);
  }

  $("op-delete").addEventListener("click", async () => {
    const a = opAccount;
    if (!a || !confirm("Delete account " + a.name + "? Its tokens die and its locks are released at once.")) return;
    try {
      await api("DELETE", "/dashboard/admin/accounts/" + a.account_id, { kind: "operator" });
      clearTimeout(opPollTimer);
      opAccount = null;
      show("op-account", false);
      loadAccounts(false);
    } catch (e) { opFailed(e, "Could not delete the account"); }
  });
  $("op-refresh").addEventListener("click", () => { loadAccounts(false); loadCluster(); });
  $("op-more").addEventListener("click", () => loadAccounts(true));
  $("op-sign-out").addEventListener("click", async () => {
    try { await api("POST", "/dashboard/admin/sign-out", { kind: "operator" }); } catch (_) { /* out either way */ }
    operatorOut("");
  });

  // --- Sign-in forms: the secret goes to the server once and the field is cleared -----

  async function exchange(form, input, errorId, path, field, then) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const secret = input.value.trim();
      input.value = "";
      show(errorId, false);
      const btn = form.querySelector("button");
      btn.disabled = true;
      try {
        await api("POST", path, { body: { [field]: secret } });
        await then();
      } catch (e) {
        $(errorId).textContent = e.message;
        show(errorId, true);
        input.focus();
      } finally {
        btn.disabled = false;
      }
    });
  }
  exchange($("token-form"), $("token-input"), "token-error", "/dashboard/sign-in", "token",
    async () => signedIn(await api("GET", "/dashboard/session")));
  exchange($("admin-form"), $("admin-key"), "admin-error", "/dashboard/admin/sign-in", "admin_key",
    async () => operatorIn(await api("GET", "/dashboard/admin/session")));

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
      if (e instanceof Unauthorized) signedOut(); else fail("Could not rotate the token: " + e.message);
    } finally {
      btn.disabled = false;
    }
  });

  $("sign-out").addEventListener("click", async () => {
    try { await api("POST", "/dashboard/sign-out"); } catch (_) { /* signed out either way */ }
    signedOut();
  });

  $("sign-out-everywhere").addEventListener("click", async () => {
    if (!confirm("Sign out in every browser? Your token keeps working.")) return;
    try { await api("POST", "/dashboard/sign-out-everywhere"); } catch (_) { /* signed out either way */ }
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

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    if (csrf) poll();
    if (opCsrf && opAccount) pollAccountLocks();
  });

  // Start: which methods the server offers, then whichever session this browser has.
  (async () => {
    try { methods = await api("GET", "/dashboard/methods"); } catch (_) { /* defaults */ }
    if (methods.admin) {
      try { operatorIn(await api("GET", "/dashboard/admin/session")); return; } catch (_) { /* none */ }
    }
    try {
      signedIn(await api("GET", "/dashboard/session"));
    } catch (e) {
      if (e instanceof Unauthorized) { showSignIn(); return; }
      show("loading", false);
      fail("Could not load the dashboard: " + e.message);
    }
  })();
})();
