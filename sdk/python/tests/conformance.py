"""Executes one sdk/conformance scenario through the Python helpers.

The table in `Runner._op_*` is the mapping from the suite's operations to this SDK's
helper calls; `flat_*` turn helper results into the suite's flat results; `ERROR_TYPES`
is the exception class a user catches for each expected error code.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import json
import os
import re
import signal
import socket
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
from harness import Server, Servers

import octostore

CONFORMANCE = Path(__file__).resolve().parents[2] / "conformance"
REF = re.compile(r"\$\{([a-z][a-z0-9_]*)\.([a-z_]+)\}")
MISSING = object()


def scenario_files() -> list[Path]:
    return sorted((CONFORMANCE / "scenarios").glob("*.json"))


class StepFailed(AssertionError):
    pass


class UserError(Exception):
    """The error a `with_lock` body raises (the user's own exception)."""

    code = "user_error"


# The type a user catches for each suite code of `expect_error`: the suite compares codes,
# this holds the SDK to raising the documented class for each (a generic error with the
# right code would slip past a user's `except`). A new code in a scenario needs an entry.
ERROR_TYPES: dict[str, type[Exception]] = {
    "invalid_lock_name": octostore.InvalidLockName,
    "invalid_request": octostore.InvalidRequest,
    "invalid_ttl": octostore.InvalidTTL,
    "lease_not_current": octostore.LeaseNotCurrent,
    "lock_limit_exceeded": octostore.LockLimitExceeded,
    "lock_lost": octostore.LockLost,
    "max_holders_mismatch": octostore.MaxHoldersMismatch,
    "payload_too_large": octostore.PayloadTooLarge,
    "session_not_found": octostore.SessionNotFound,
    "timeout": octostore.LockTimeout,
    "transport": octostore.TransportError,
    "unauthorized": octostore.Unauthorized,
    "user_error": UserError,
}


def dead_url() -> str:
    """A base URL nobody listens on: a port bound and closed again."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---- flat results -------------------------------------------------------------------


def flat_lease(lease: octostore.Lease, holder_id: str | None = None) -> dict[str, Any]:
    return {
        "acquired": True,
        "holder_id": holder_id,
        "lease_id": lease.lease_id,
        "fencing_token": lease.fencing_token,
        "expires_at": lease.expires_at,
        "renew_after_ms": lease.renew_after_ms,
    }


def flat_held(e: octostore.Held) -> dict[str, Any]:
    return {
        "acquired": False,
        "holder_id": e.holder_id,
        "expires_at": e.expires_at,
        "retry_after_ms": e.retry_after_ms,
        "available_at": e.available_at,
    }


def flat_state(s: octostore.LockState) -> dict[str, Any]:
    out = dataclasses.asdict(s)
    out["holder_count"] = len(out.pop("holders"))
    return out


def flat_changes(answer: octostore.PrefixChanges) -> dict[str, Any]:
    changes = [f"{c.name}:{c.status}" for c in answer.changes]
    return {"index": answer.index, "changes": changes, "count": len(changes), "complete": answer.complete}


def flat_leader(leader: octostore.Leader | None) -> dict[str, Any]:
    if leader is None:
        return {"elected": False, "value": None, "holder_id": None, "fencing_token": None, "revision": None}
    return {"elected": True, **dataclasses.asdict(leader)}


# ---- matching -----------------------------------------------------------------------


def as_instant(v: Any) -> datetime.datetime | None:
    if isinstance(v, datetime.datetime):
        return v
    if isinstance(v, str):
        try:
            d = datetime.datetime.fromisoformat(v)
        except ValueError:
            return None
        return d if d.tzinfo is not None else None
    return None


def comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Timestamps (native or RFC 3339 text) as instants, the rest as they are."""
    ia, ib = as_instant(a), as_instant(b)
    if ia is not None and ib is not None:
        return ia, ib
    return a, b


def equal(actual: Any, expected: Any) -> bool:
    if expected is None:
        return actual is None or actual is MISSING
    if actual is MISSING:
        return False
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(equal, actual, expected))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    a, e = comparable(actual, expected)
    return a == e


def matches(actual: Any, matcher: Any) -> bool:
    if not isinstance(matcher, dict):
        return equal(actual, matcher)
    ((op, v),) = matcher.items()
    present = actual is not MISSING and actual is not None
    if op == "eq":
        return equal(actual, v)
    if op == "ne":
        return not equal(actual, v)
    if op == "present":
        return present == v
    if op == "matches":
        return isinstance(actual, str) and re.search(v, actual) is not None
    if not present:
        return False
    a, e = comparable(actual, v)
    if (
        isinstance(a, bool)
        or type(a) is not type(e)
        and not (isinstance(a, (int, float)) and isinstance(e, (int, float)))
    ):
        return False
    return {"gt": a > e, "ge": a >= e, "lt": a < e, "le": a <= e}[op]


def mismatches(result: dict[str, Any], expect: dict[str, Any]) -> list[str]:
    return [
        f"{k}: got {result.get(k, MISSING)!r}, want {m!r}"
        for k, m in expect.items()
        if not matches(result.get(k, MISSING), m)
    ]


# ---- the runner ---------------------------------------------------------------------


@dataclasses.dataclass
class Actor:
    client: octostore.Client | None
    token: str | None
    values: dict[str, Any]


class Runner:
    def __init__(self, scenario: dict[str, Any], servers: Servers) -> None:
        self.sc = scenario
        server = scenario.get("server", {})
        self.dedicated = bool(server.get("dedicated"))
        self.server: Server = Server(server.get("env")) if self.dedicated else servers.get(server.get("env"))
        self.actors: dict[str, Actor] = {}
        self.saved: dict[str, dict[str, Any]] = {}
        self.leases: dict[str, octostore.Lease] = {}
        self.elections: dict[str, octostore.Election] = {}
        self.sessions: dict[str, octostore.Session] = {}
        self.all_leases: list[octostore.Lease] = []
        self.tasks: dict[str, concurrent.futures.Future[dict[str, Any]]] = {}
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="conformance")
        self.http = httpx.Client(base_url=self.server.url, timeout=30)

    # -- set-up and tear-down
    def make_actors(self) -> None:
        accounts: dict[str, str] = {}
        for name, spec in self.sc["actors"].items():
            owner = spec.get("owner")
            if "account" in spec:
                label = spec["account"]
                if label not in accounts:
                    acc = self.server.create_account(label)
                    accounts[label] = acc.account_id
                    token, token_id = acc.token, acc.token_id
                else:
                    t = self.server.create_token(accounts[label])
                    token, token_id = t.token, t.token_id
                account_id = accounts[label]
            elif "same_token_as" in spec:
                other = self.actors[spec["same_token_as"]]
                token, token_id, account_id = other.token, other.values["token_id"], other.values["account_id"]
            elif "token" in spec:
                token, token_id, account_id = spec["token"], None, None
            else:
                token, token_id, account_id = None, None, None
            client = None
            if token is not None:
                urls: list[str] = {
                    None: [self.server.url],
                    "dead_first": [dead_url(), self.server.url],
                    "dead_only": [dead_url()],
                }[spec.get("urls")]
                client = octostore.Client(urls, token, owner=owner)
            owner = None if client is None else client.owner
            holder = None if token_id is None else f"{token_id}/{owner}"
            self.actors[name] = Actor(
                client,
                token,
                {"token_id": token_id, "account_id": account_id, "owner": owner, "holder_id": holder},
            )

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        for e in self.elections.values():
            try:
                e.resign()
            except octostore.OctoStoreError:
                pass
        try:
            if self.dedicated:
                os.kill(self.server.proc.pid, signal.SIGCONT)
            for session in self.sessions.values():
                try:
                    session.close()
                except octostore.OctoStoreError:
                    pass
            for lease in self.all_leases:
                lease.close()
            for a in self.actors.values():
                if a.client is not None:
                    a.client.close()
            self.http.close()
        finally:
            if self.dedicated:
                self.server.stop()  # also when a close above raised

    # -- references
    def resolve(self, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: self.resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.resolve(x) for x in v]
        if not isinstance(v, str):
            return v
        m = REF.fullmatch(v)
        if m:
            return self.lookup(m.group(1), m.group(2))
        return REF.sub(lambda m: text(self.lookup(m.group(1), m.group(2))), v)

    def lookup(self, name: str, field: str) -> Any:
        if name in self.actors:
            src = self.actors[name].values
        elif name in self.saved:
            src = self.saved[name]
        else:
            raise StepFailed(f"unknown reference ${{{name}.{field}}}")
        if field not in src:
            raise StepFailed(f"reference ${{{name}.{field}}}: no such field in {sorted(src)}")
        return src[field]

    def client(self, step: dict[str, Any]) -> octostore.Client:
        a = self.actors[step["actor"]]
        if a.client is None:
            raise StepFailed(f"actor {step['actor']} has no token; use it in raw steps only")
        return a.client

    # -- execution
    def run(self) -> None:
        self.make_actors()
        for i, raw_step in enumerate(self.sc["steps"]):
            step = self.resolve(raw_step)
            try:
                self.step(step)
            except StepFailed as e:
                raise StepFailed(f"{self.sc['name']} step {i} {json.dumps(raw_step)}: {e}") from None

    def step(self, step: dict[str, Any]) -> None:
        op = step["op"]
        fn = getattr(self, "_op_" + op)
        if "background" in step:
            self.tasks[step["background"]] = self.pool.submit(fn, step)
            return
        if op == "await":
            task = step["task"]
            fut = self.tasks.pop(task)
            try:
                fut.result(timeout=step["timeout_ms"] / 1000)
            except concurrent.futures.TimeoutError:
                raise StepFailed(f"task {step['task']} still running after {step['timeout_ms']} ms") from None
            except Exception:  # checked below
                pass
            self.check(step, fut.result)
            # The handle a background lock or campaign made is known by its task name.
            for handles in (self.leases, self.elections):
                if task in handles and "save" in step:
                    handles[step["save"]] = handles[task]
            return
        self.check(step, lambda: fn(step))

    def check(self, step: dict[str, Any], call: Any) -> None:
        want_err = step.get("expect_error")
        if want_err is not None and want_err["code"] not in ERROR_TYPES:
            raise StepFailed(f"no error type for code {want_err['code']!r}: add it to ERROR_TYPES in conformance.py")
        try:
            result = call()
        except (octostore.OctoStoreError, UserError) as e:
            if want_err is None:
                raise StepFailed(f"unexpected error {type(e).__name__} code={e.code}: {e}") from e
            status = getattr(e, "status", None)
            if e.code != want_err["code"] or ("status" in want_err and status != want_err["status"]):
                raise StepFailed(f"got error code={e.code} status={status} ({e}), want {want_err}") from e
            want_type = ERROR_TYPES[want_err["code"]]
            if not isinstance(e, want_type):
                raise StepFailed(
                    f"code {e.code} raised as {type(e).__qualname__}, want {want_type.__qualname__} ({e})"
                ) from e
            if "message_matches" in want_err and not re.search(want_err["message_matches"], str(e)):
                raise StepFailed(f"error message {str(e)!r} does not match {want_err['message_matches']!r}") from e
            return
        if want_err is not None:
            raise StepFailed(f"succeeded with {result!r}, want error {want_err}")
        bad = mismatches(result, step.get("expect", {}))
        if bad:
            raise StepFailed("; ".join(bad) + f"  (result {result!r})")
        if "save" in step:
            self.saved[step["save"]] = result

    def keep_lease(self, step: dict[str, Any], lease: octostore.Lease) -> None:
        self.all_leases.append(lease)
        if "save" in step:
            self.leases[step["save"]] = lease

    def lease(self, step: dict[str, Any]) -> octostore.Lease:
        return self.leases[step["lease"]]

    # -- operations
    def holder(self, step: dict[str, Any]) -> Any:
        return self.actors[step["actor"]].values["holder_id"]

    def acquire(self, step: dict[str, Any], wait: float | None) -> octostore.Lease | octostore.Held:
        """try_lock (wait None: one `acquire`) and lock (`lock(wait=...)`): through the
        saved session with `session`, through `semaphore(name, N)` with `max_holders`."""
        name, n = step["lock"], step.get("max_holders")
        kw: dict[str, Any] = {"metadata": step.get("metadata"), "lock_delay": step.get("lock_delay")}
        if "session" in step:
            session = self.sessions[step["session"]]
            if n is not None:
                sem = session.semaphore(name, n)
                return sem.acquire(**kw) if wait is None else sem.lock(wait=wait, **kw)
            return session.acquire(name, **kw) if wait is None else session.lock(name, wait=wait, **kw)
        client = self.client(step)
        kw["auto_renew"] = step.get("auto_renew", True)
        if n is not None:
            sem = client.semaphore(name, n)
            return sem.acquire(step["ttl"], **kw) if wait is None else sem.lock(step["ttl"], wait=wait, **kw)
        if wait is None:
            return client.acquire(name, step["ttl"], **kw)
        return client.lock(name, step["ttl"], wait=wait, **kw)

    def _op_try_lock(self, step: dict[str, Any]) -> dict[str, Any]:
        got = self.acquire(step, None)
        if isinstance(got, octostore.Held):
            return flat_held(got)
        self.keep_lease(step, got)
        return flat_lease(got, self.holder(step))

    def _op_lock(self, step: dict[str, Any]) -> dict[str, Any]:
        lease = self.acquire(step, step["wait"])
        assert isinstance(lease, octostore.Lease)
        self.all_leases.append(lease)
        # A background lock is saved by its await step; remember it by task name too.
        self.leases[step.get("save") or step.get("background") or f"_{len(self.all_leases)}"] = lease
        return flat_lease(lease, self.holder(step))

    def _op_session_open(self, step: dict[str, Any]) -> dict[str, Any]:
        session = self.client(step).session(step["ttl"])
        self.sessions[step.get("save") or f"_s{len(self.sessions)}"] = session
        return {"session_id": session.id, "expires_at": session.expires_at}

    def _op_session_state(self, step: dict[str, Any]) -> dict[str, Any]:
        session = self.sessions[step["session"]]
        return {"lost": session.lost.is_set(), "session_id": session.id}

    def _op_session_close(self, step: dict[str, Any]) -> dict[str, Any]:
        self.sessions[step["session"]].close()
        return {}

    def _op_session_orphan(self, step: dict[str, Any]) -> dict[str, Any]:
        self.sessions[step["session"]].orphan()
        return {}

    def _op_prefix_index(self, step: dict[str, Any]) -> dict[str, Any]:
        return {"index": self.client(step).prefix_index(step["prefix"])}

    def _op_watch_prefix(self, step: dict[str, Any]) -> dict[str, Any]:
        index = int(step["index"])
        answers = self.client(step).watch_prefix(step["prefix"], index, timeout=step["wait"])
        try:
            for answer in answers:
                return flat_changes(answer)
        finally:
            answers.close()
        return {"index": index, "changes": [], "count": 0, "complete": True}

    def _op_renew(self, step: dict[str, Any]) -> dict[str, Any]:
        lease = self.lease(step).renew(step.get("ttl"))
        f = flat_lease(lease)
        del f["acquired"]
        return f

    def _op_release(self, step: dict[str, Any]) -> dict[str, Any]:
        lease = self.lease(step)
        lease.release()
        return {"lease_id": lease.lease_id, "fencing_token": lease.fencing_token}

    def _op_lease_state(self, step: dict[str, Any]) -> dict[str, Any]:
        lease = self.lease(step)
        return {
            "lost": lease.lost.is_set(),
            "lease_id": lease.lease_id,
            "fencing_token": lease.fencing_token,
            "expires_at": lease.expires_at,
        }

    def _op_wait_lost(self, step: dict[str, Any]) -> dict[str, Any]:
        if "session" in step:
            lost, what = self.sessions[step["session"]].lost, step["session"]
        else:
            lost, what = self.lease(step).lost, step["lease"]
        if not lost.wait(step["timeout_ms"] / 1000):
            raise octostore.LockTimeout(what, step["timeout_ms"] / 1000)
        return {"lost": True}

    def _op_status(self, step: dict[str, Any]) -> dict[str, Any]:
        return flat_state(self.client(step).status(step["lock"]))

    def _op_wait_until(self, step: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + step["timeout_ms"] / 1000
        delay = 0.05
        while True:
            result = flat_state(self.client(step).status(step["lock"]))
            if not mismatches(result, step["until"]):
                return result
            if time.monotonic() >= deadline:
                raise StepFailed(f"condition {step['until']} not reached in {step['timeout_ms']} ms; last {result!r}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.2)

    def _op_watch(self, step: dict[str, Any]) -> dict[str, Any]:
        return flat_state(self.client(step).watch(step["lock"], int(step["index"]), step["wait"]))

    def _op_list(self, step: dict[str, Any]) -> dict[str, Any]:
        names = [s.name for s in self.client(step).list()]
        return {"names": names, "count": len(names)}

    def _op_campaign(self, step: dict[str, Any]) -> dict[str, Any]:
        election = self.client(step).election(step["election"], step["ttl"])
        lease = election.campaign(step["value"], wait=step["wait"])
        self.all_leases.append(lease)
        self.elections[step.get("save") or step.get("background") or f"_{len(self.elections)}"] = election
        return {
            "lease_id": lease.lease_id,
            "fencing_token": lease.fencing_token,
            "expires_at": lease.expires_at,
            "value": lease.metadata,
        }

    def _op_leader(self, step: dict[str, Any]) -> dict[str, Any]:
        return flat_leader(self.client(step).election(step["election"]).leader())

    def _op_observe(self, step: dict[str, Any]) -> dict[str, Any]:
        timeout = step["timeout_ms"] / 1000
        election = self.client(step).election(step["election"])
        for leader in election.observe(timeout=timeout, poll_wait=5):
            value = None if leader is None else leader.value
            if value == step["until_value"] and (leader is not None or step["until_value"] is None):
                return flat_leader(leader)
        raise octostore.LockTimeout(step["election"], timeout)

    def _op_resign(self, step: dict[str, Any]) -> dict[str, Any]:
        self.elections.pop(step["campaign"]).resign()
        return {}

    def _op_with_lock(self, step: dict[str, Any]) -> dict[str, Any]:
        name, body = step["lock"], step["body"]
        with self.client(step).lock(name, step["ttl"], wait=step.get("wait", 0)) as lease:
            self.all_leases.append(lease)
            out = {"ran": True, "lease_id": lease.lease_id, "fencing_token": lease.fencing_token}
            if body == "raise":
                raise UserError("the block failed")
            if body.startswith("release_behind_then_"):
                r = self.http.post(
                    f"/locks/{urllib.parse.quote(name, safe='')}/release",
                    json={"lease_id": lease.lease_id},
                    headers={"Authorization": "Bearer " + str(self.actors[step["actor"]].token)},
                )
                if r.status_code != 200:
                    raise StepFailed(f"release behind the helper: HTTP {r.status_code} {r.text}")
                if body == "release_behind_then_raise":
                    raise UserError("the block failed after its lease was released behind it")
                if not lease.lost.wait(10):
                    raise StepFailed("no loss signal within 10 s of the release behind the helper")
            elif body != "return":
                raise StepFailed(f"unknown with_lock body {body!r}")
        return out

    def _op_close(self, step: dict[str, Any]) -> dict[str, Any]:
        lease = self.lease(step)
        done = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                lease.close()
            except BaseException as e:  # close must not raise
                failure.append(e)
            finally:
                done.set()

        threading.Thread(target=run, daemon=True).start()
        if not done.wait(step["timeout_ms"] / 1000):
            raise octostore.LockTimeout(lease.name, step["timeout_ms"] / 1000)
        if failure:
            raise StepFailed(f"close raised {failure[0]!r}")
        return {}

    def _server_signal(self, sig: int) -> dict[str, Any]:
        if not self.dedicated:
            raise StepFailed("server_pause/server_resume need a dedicated server")
        os.kill(self.server.proc.pid, sig)
        return {}

    def _op_server_pause(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._server_signal(signal.SIGSTOP)

    def _op_server_resume(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._server_signal(signal.SIGCONT)

    def _op_await(self, step: dict[str, Any]) -> dict[str, Any]:  # handled in step()
        raise AssertionError("unreachable")

    def _op_raw(self, step: dict[str, Any]) -> dict[str, Any]:
        headers: dict[str, str] = {}
        if "actor" in step and self.actors[step["actor"]].token is not None:
            headers["Authorization"] = "Bearer " + self.actors[step["actor"]].token
        content: bytes | None = None
        if "body" in step:
            content = json.dumps(step["body"]).encode()
        elif "body_text" in step:
            content = step["body_text"].encode()
        if content is not None:
            headers["Content-Type"] = step.get("content_type", "application/json")
        query = {k: str(v) for k, v in step.get("query", {}).items()}
        url = httpx.URL(self.server.url + step["path"], params=query or None)
        r = self.http.request(step["method"], url, headers=headers, content=content)
        result: dict[str, Any] = {
            "http_status": r.status_code,
            "content_type": r.headers.get("content-type", "").split(";")[0].strip() or None,
            "www_authenticate": r.headers.get("www-authenticate"),
            "x_request_id": r.headers.get("x-request-id"),
        }
        try:
            body = r.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            for k, v in body.items():
                result.setdefault(k, v)
        return result


def text(v: Any) -> str:
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    return str(v)
