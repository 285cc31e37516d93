using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace OctoStore.Tests
{
    /// <summary>A step did not do what the scenario says.</summary>
    public sealed class StepFailure : Exception
    {
        public StepFailure(string message) : base(message)
        {
        }
    }

    /// <summary>The client-side timeout of wait_lost and observe (a blocking lock's is LockTimeoutException).</summary>
    public sealed class StepTimeout : OctoStoreException
    {
        public StepTimeout(string message) : base(message)
        {
        }

        public override string Code
        {
            get { return "timeout"; }
        }
    }

    /// <summary>
    /// Runs one scenario through the C# helpers. The translation table of the suite's
    /// operations to the helper is <see cref="ExecuteAsync"/>; the rest is the harness.
    /// </summary>
    /// <summary>The error a with_lock body raises: the user's own exception.</summary>
    public sealed class UserBlockError : Exception
    {
        public UserBlockError(string message) : base(message)
        {
        }
    }

    public sealed class Runner
    {
        private static readonly string[] Common = { "op", "comment", "save", "expect", "expect_error", "background" };
        private static readonly Dictionary<string, string[]> Fields = new Dictionary<string, string[]>
        {
            { "try_lock", new[] { "actor", "lock", "ttl", "metadata", "auto_renew", "session", "lock_delay", "max_holders" } },
            { "lock", new[] { "actor", "lock", "ttl", "wait", "metadata", "auto_renew", "session", "lock_delay", "max_holders" } },
            { "renew", new[] { "lease", "ttl" } },
            { "release", new[] { "lease" } },
            { "lease_state", new[] { "lease" } },
            { "wait_lost", new[] { "lease", "session", "timeout_ms" } },
            { "session_open", new[] { "actor", "ttl" } },
            { "session_state", new[] { "session" } },
            { "session_close", new[] { "session" } },
            { "session_orphan", new[] { "session" } },
            { "prefix_index", new[] { "actor", "prefix" } },
            { "watch_prefix", new[] { "actor", "prefix", "index", "wait" } },
            { "status", new[] { "actor", "lock" } },
            { "wait_until", new[] { "actor", "lock", "until", "timeout_ms" } },
            { "watch", new[] { "actor", "lock", "index", "wait" } },
            { "list", new[] { "actor" } },
            { "campaign", new[] { "actor", "election", "value", "ttl", "wait" } },
            { "leader", new[] { "actor", "election" } },
            { "observe", new[] { "actor", "election", "until_value", "timeout_ms" } },
            { "resign", new[] { "campaign" } },
            { "await", new[] { "task", "timeout_ms" } },
            { "with_lock", new[] { "actor", "lock", "ttl", "wait", "body" } },
            { "close", new[] { "lease", "timeout_ms" } },
            { "server_pause", new string[0] },
            { "server_resume", new string[0] },
            { "raw", new[] { "actor", "method", "path", "query", "body", "body_text", "content_type" } },
        };
        private static readonly Regex Ref = new Regex(@"\$\{([a-z][a-z0-9_]*)\.([a-z_]+)\}");
        private static readonly Regex WholeRef = new Regex(@"^\$\{([a-z][a-z0-9_]*)\.([a-z_]+)\}$");

        private readonly JsonObject scenario;
        private readonly Server server;
        private readonly bool dedicated;
        private readonly Dictionary<string, Actor> actors = new Dictionary<string, Actor>();
        private readonly Dictionary<string, string> accounts = new Dictionary<string, string>();
        private readonly Dictionary<string, Outcome> saved = new Dictionary<string, Outcome>();
        private readonly Dictionary<string, Task<Outcome>> tasks = new Dictionary<string, Task<Outcome>>();
        private readonly List<Lease> leases = new List<Lease>();
        private readonly List<Session> sessions = new List<Session>();
        private readonly CancellationTokenSource cancel = new CancellationTokenSource();

        public Runner(JsonObject scenario)
        {
            this.scenario = scenario;
            var env = new Dictionary<string, string>();
            var s = scenario["server"] as JsonObject;
            var e = s == null ? null : s["env"] as JsonObject;
            if (e != null) foreach (var kv in e) env[kv.Key] = (string)kv.Value;
            dedicated = s != null && s.Has("dedicated") && (bool)s["dedicated"];
            server = dedicated ? Server.Dedicated(env) : Server.For(env);
        }

        public async Task RunAsync()
        {
            try
            {
                foreach (var kv in (JsonObject)scenario["actors"]) actors[kv.Key] = MakeActor((JsonObject)kv.Value);
                var steps = (List<object>)scenario["steps"];
                for (var i = 0; i < steps.Count; i++)
                {
                    try
                    {
                        await RunStepAsync((JsonObject)steps[i]).ConfigureAwait(false);
                    }
                    catch (StepFailure e)
                    {
                        var text = Json.Write(steps[i]);
                        throw new StepFailure(scenario["name"] + " step " + i + " " + text.Substring(0, Math.Min(300, text.Length)) + ": " + e.Message);
                    }
                }
            }
            finally
            {
                await CleanupAsync().ConfigureAwait(false);
            }
        }

        // --- actors -------------------------------------------------------------------

        private sealed class Actor
        {
            public OctoStoreClient Client;
            public string Token;
            public JsonObject Fields = new JsonObject();
        }

        private Actor MakeActor(JsonObject spec)
        {
            if (spec.Has("account"))
            {
                var label = (string)spec["account"];
                string accountId;
                JsonObject issued;
                if (accounts.TryGetValue(label, out accountId))
                {
                    issued = server.AdminPost("/admin/accounts/" + accountId + "/tokens", null);
                }
                else
                {
                    var body = new JsonObject();
                    body["name"] = label + "-" + Guid.NewGuid().ToString("N").Substring(0, 12);
                    issued = server.AdminPost("/admin/accounts", body);
                    accounts[label] = (string)issued["account_id"];
                }
                return NewActor((string)issued["token"], (string)issued["token_id"], (string)issued["account_id"], spec["owner"] as string, spec["urls"] as string);
            }
            if (spec.Has("same_token_as"))
            {
                Actor b;
                if (!actors.TryGetValue((string)spec["same_token_as"], out b)) throw new StepFailure("unknown actor " + spec["same_token_as"]);
                return NewActor(b.Token, (string)b.Fields["token_id"], (string)b.Fields["account_id"], spec["owner"] as string, spec["urls"] as string);
            }
            var a = new Actor();
            foreach (var f in new[] { "token_id", "account_id", "holder_id", "owner" }) a.Fields[f] = null;
            if (spec.Has("token"))
            {
                a.Token = (string)spec["token"];
                a.Client = new OctoStoreClient(server.BaseUrl, a.Token);
                return a;
            }
            if (spec.Has("anonymous")) return a;
            throw new StepFailure("unknown actor form " + Json.Write(spec));
        }

        private Actor NewActor(string token, string tokenId, string accountId, string owner, string urls)
        {
            List<string> list;
            switch (urls)
            {
                case null: list = new List<string> { server.BaseUrl }; break;
                case "dead_first": list = new List<string> { DeadUrl(), server.BaseUrl }; break;
                case "dead_only": list = new List<string> { DeadUrl() }; break;
                default: throw new StepFailure("unknown urls " + urls);
            }
            var client = new OctoStoreClient(list, token);
            if (owner != null) client.Owner = owner;
            var a = new Actor { Client = client, Token = token };
            a.Fields["token_id"] = tokenId;
            a.Fields["account_id"] = accountId;
            a.Fields["owner"] = client.Owner;
            a.Fields["holder_id"] = tokenId + "/" + client.Owner;
            return a;
        }

        /// <summary>http://127.0.0.1:P for a port that was bound and closed again: nothing listens there.</summary>
        private static string DeadUrl()
        {
            var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            l.Start();
            var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
        }

        // --- steps --------------------------------------------------------------------

        /// <summary>A step's result: the flat fields, and the native handle (Lease or Election).</summary>
        private sealed class Outcome
        {
            public JsonObject Result;
            public object Handle;
            public Exception Error;
        }

        private async Task RunStepAsync(JsonObject raw)
        {
            var op = (string)raw["op"];
            string[] allowed;
            if (!Fields.TryGetValue(op, out allowed)) throw new StepFailure("unknown op " + op);
            var unknown = raw.Select(kv => kv.Key).Where(k => !Common.Contains(k) && !allowed.Contains(k)).ToList();
            if (unknown.Count > 0) throw new StepFailure("unknown fields " + string.Join(", ", unknown));
            var step = (JsonObject)Resolve(raw);
            if (step.Has("background"))
            {
                tasks[(string)step["background"]] = CaptureAsync(step);
                return;
            }
            var outcome = op == "await" ? await AwaitAsync(step).ConfigureAwait(false) : await CaptureAsync(step).ConfigureAwait(false);
            Check(step, outcome);
        }

        private async Task<Outcome> CaptureAsync(JsonObject step)
        {
            try
            {
                return await ExecuteAsync(step).ConfigureAwait(false);
            }
            catch (ApiException e)
            {
                return new Outcome { Error = e };
            }
            catch (OctoStoreException e)
            {
                return new Outcome { Error = e };
            }
            catch (TransportException e)
            {
                return new Outcome { Error = e };
            }
            catch (UserBlockError e)
            {
                return new Outcome { Error = e };
            }
        }

        private static string CodeOf(Exception e)
        {
            var api = e as ApiException;
            if (api != null) return api.Code;
            var own = e as OctoStoreException;
            if (own != null) return own.Code;
            var transport = e as TransportException;
            if (transport != null) return transport.Code;
            if (e is UserBlockError) return "user_error";
            return null;
        }

        private void Check(JsonObject step, Outcome outcome)
        {
            var want = step["expect_error"] as JsonObject;
            if (outcome.Error != null)
            {
                if (want == null) throw new StepFailure("threw " + outcome.Error.GetType().Name + ": " + outcome.Error.Message);
                var api = outcome.Error as ApiException;
                var sessionLost = outcome.Error as SessionLostException;
                var code = CodeOf(outcome.Error);
                long? status = api != null ? api.StatusCode : sessionLost != null ? sessionLost.StatusCode : (long?)null;
                if (code != (string)want["code"]) throw new StepFailure("error code " + code + ", want " + want["code"] + " (" + outcome.Error.Message + ")");
                if (want.Has("status") && status != (long)want["status"]) throw new StepFailure("error status " + status + ", want " + want["status"]);
                if (want.Has("message_matches") && !Regex.IsMatch(outcome.Error.Message ?? "", (string)want["message_matches"]))
                {
                    throw new StepFailure("error message '" + outcome.Error.Message + "' does not match " + want["message_matches"]);
                }
                return;
            }
            if (want != null) throw new StepFailure("succeeded with " + Json.Write(outcome.Result) + ", want error " + want["code"]);
            var expect = step["expect"] as JsonObject;
            if (expect != null)
            {
                foreach (var kv in expect)
                {
                    var actual = outcome.Result[kv.Key];
                    if (!Matcher.Holds(kv.Value, actual))
                    {
                        throw new StepFailure(kv.Key + ": " + Json.Write(actual) + " does not match " + Json.Write(kv.Value) + "; result " + Json.Write(outcome.Result));
                    }
                }
            }
            if (step.Has("save")) saved[(string)step["save"]] = outcome;
        }

        private async Task<Outcome> AwaitAsync(JsonObject step)
        {
            Task<Outcome> task;
            var name = (string)step["task"];
            if (!tasks.TryGetValue(name, out task)) throw new StepFailure("unknown task " + name);
            var done = await Task.WhenAny(task, Task.Delay(TimeSpan.FromMilliseconds((long)step["timeout_ms"]))).ConfigureAwait(false);
            if (done != task) throw new StepFailure("task " + name + " still running after " + step["timeout_ms"] + " ms");
            tasks.Remove(name);
            return await task.ConfigureAwait(false);
        }

        /// <summary>The suite's operations, each through the helper (raw: plain HttpClient).</summary>
        private async Task<Outcome> ExecuteAsync(JsonObject s)
        {
            switch ((string)s["op"])
            {
                case "try_lock":
                {
                    var attempt = await TryAcquireAsync(s).ConfigureAwait(false);
                    if (!attempt.Acquired)
                    {
                        return Result(null, "acquired", false, "holder_id", attempt.HolderId, "expires_at", attempt.ExpiresAt, "retry_after_ms", attempt.RetryAfterMs,
                            "available_at", attempt.AvailableAt);
                    }
                    Track(attempt.Lease);
                    return Acquired(attempt.Lease, ActorOf(s));
                }
                case "lock":
                {
                    var lease = await LockAsync(s).ConfigureAwait(false);
                    Track(lease);
                    return Acquired(lease, ActorOf(s));
                }
                case "session_open":
                {
                    var session = await Client(s).OpenSessionAsync(Int(s["ttl"]), cancel.Token).ConfigureAwait(false);
                    lock (sessions) sessions.Add(session);
                    return Result(session, "session_id", session.Id, "expires_at", session.ExpiresAt);
                }
                case "session_state":
                {
                    var session = SessionOf(s);
                    return Result(null, "lost", session.IsLost, "session_id", session.Id);
                }
                case "session_close":
                    await SessionOf(s).CloseAsync(cancel.Token).ConfigureAwait(false);
                    return Result(null);
                case "session_orphan":
                    SessionOf(s).Orphan();
                    return Result(null);
                case "prefix_index":
                    return Result(null, "index", await Client(s).PrefixIndexAsync((string)s["prefix"], cancel.Token).ConfigureAwait(false));
                case "watch_prefix":
                    return await WatchPrefixAsync(s).ConfigureAwait(false);
                case "renew":
                {
                    var lease = await LeaseOf(s).RenewAsync(s.Has("ttl") ? Int(s["ttl"]) : (int?)null, cancel.Token).ConfigureAwait(false);
                    return Result(null, "lease_id", lease.LeaseId, "fencing_token", lease.FencingToken, "expires_at", lease.ExpiresAt, "renew_after_ms", lease.RenewAfterMs);
                }
                case "release":
                {
                    var res = await LeaseOf(s).ReleaseAsync(cancel.Token).ConfigureAwait(false);
                    return Result(null, "lease_id", res.LeaseId, "fencing_token", res.FencingToken);
                }
                case "lease_state":
                {
                    var lease = LeaseOf(s);
                    return Result(null, "lost", lease.IsLost, "lease_id", lease.LeaseId, "fencing_token", lease.FencingToken, "expires_at", lease.ExpiresAt);
                }
                case "wait_lost":
                {
                    var lost = s.Has("session") ? SessionOf(s).Lost : LeaseOf(s).Lost;
                    try
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds((long)s["timeout_ms"]), lost).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return Result(null, "lost", true);
                    }
                    throw new StepTimeout((s.Has("session") ? "session" : "lease") + " not lost in time");
                }
                case "status":
                    return State(await Client(s).StatusAsync((string)s["lock"], cancel.Token).ConfigureAwait(false));
                case "with_lock":
                {
                    // A scoped block that never returns (the old Dispose deadlock) fails the step instead of hanging the suite.
                    var run = WithLockAsync(s);
                    if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))).ConfigureAwait(false) != run) throw new StepFailure("with_lock did not return within 60 s");
                    return await run.ConfigureAwait(false);
                }
                case "close":
                {
                    var lease = LeaseOf(s);
                    var dispose = Task.Run(() => lease.Dispose());
                    if (await Task.WhenAny(dispose, Task.Delay(TimeSpan.FromMilliseconds((long)s["timeout_ms"]))).ConfigureAwait(false) != dispose)
                    {
                        throw new StepTimeout("Dispose did not return within " + s["timeout_ms"] + " ms");
                    }
                    await dispose.ConfigureAwait(false);
                    return Result(null);
                }
                case "server_pause":
                    server.Signal("STOP");
                    return Result(null);
                case "server_resume":
                    server.Signal("CONT");
                    return Result(null);
                case "wait_until":
                    return await WaitUntilAsync(s).ConfigureAwait(false);
                case "watch":
                {
                    var index = s["index"] is string ? long.Parse((string)s["index"], CultureInfo.InvariantCulture) : (long)s["index"];
                    return State(await Client(s).WatchAsync((string)s["lock"], index, Int(s["wait"]), cancel.Token).ConfigureAwait(false));
                }
                case "list":
                {
                    var list = await Client(s).ListLocksAsync(cancellationToken: cancel.Token).ConfigureAwait(false);
                    var names = list.Locks.Select(l => (object)l.Name).ToList();
                    return Result(null, "names", names, "count", (long)names.Count);
                }
                case "campaign":
                {
                    var election = Client(s).Election((string)s["election"], Int(s["ttl"]));
                    var lease = await election.CampaignAsync((string)s["value"], TimeSpan.FromSeconds((long)s["wait"]), cancel.Token).ConfigureAwait(false);
                    Track(lease);
                    return Result(election, "lease_id", lease.LeaseId, "fencing_token", lease.FencingToken, "expires_at", lease.ExpiresAt, "value", lease.Metadata);
                }
                case "leader":
                    return LeaderResult(await Client(s).Election((string)s["election"]).LeaderAsync(cancel.Token).ConfigureAwait(false));
                case "observe":
                    return await ObserveAsync(s).ConfigureAwait(false);
                case "resign":
                {
                    Outcome o;
                    if (!saved.TryGetValue((string)s["campaign"], out o) || !(o.Handle is Election)) throw new StepFailure("unknown campaign " + s["campaign"]);
                    await ((Election)o.Handle).ResignAsync(cancel.Token).ConfigureAwait(false);
                    return Result(null);
                }
                case "raw":
                    return await RawAsync(s).ConfigureAwait(false);
            }
            throw new StepFailure("unknown op " + s["op"]);
        }

        private static Outcome Result(object handle, params object[] pairs)
        {
            var r = new JsonObject();
            for (var i = 0; i < pairs.Length; i += 2) r[(string)pairs[i]] = Normalize(pairs[i + 1]);
            return new Outcome { Result = r, Handle = handle };
        }

        /// <summary>Integers as long, so matchers compare one kind of number.</summary>
        private static object Normalize(object v)
        {
            if (v is int) return (long)(int)v;
            return v;
        }

        private static Outcome Acquired(Lease l, Actor a)
        {
            // The grant does not repeat the holder id; it is the token's id and the owner the lease was taken with.
            var holder = l.HolderId ?? ((string)a.Fields["token_id"] + "/" + l.Owner);
            return Result(l, "acquired", true, "lease_id", l.LeaseId, "fencing_token", l.FencingToken, "expires_at", l.ExpiresAt, "renew_after_ms", l.RenewAfterMs, "holder_id", holder);
        }

        /// <summary>with_lock: the helper's scoped form, WithLockAsync, around the body the step names.</summary>
        private async Task<Outcome> WithLockAsync(JsonObject s)
        {
            var body = (string)s["body"];
            var wait = s.Has("wait") ? TimeSpan.FromSeconds((long)s["wait"]) : TimeSpan.Zero;
            Lease held = null;
            await Client(s).WithLockAsync((string)s["lock"], async lease =>
            {
                held = lease;
                Track(lease);
                switch (body)
                {
                    case "return":
                        return;
                    case "raise":
                        throw new UserBlockError("the block failed");
                    case "release_behind_then_raise":
                        await ReleaseBehindAsync(s, lease).ConfigureAwait(false);
                        throw new UserBlockError("the block failed after its lock was released behind its back");
                    case "release_behind_then_wait_lost":
                        await ReleaseBehindAsync(s, lease).ConfigureAwait(false);
                        try
                        {
                            await Task.Delay(TimeSpan.FromSeconds(10), lease.Lost).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                        }
                        return;
                    default:
                        throw new StepFailure("unknown with_lock body " + body);
                }
            }, Int(s["ttl"]), wait, null, cancel.Token).ConfigureAwait(false);
            return Result(null, "ran", true, "lease_id", held.LeaseId, "fencing_token", held.FencingToken);
        }

        /// <summary>Releases the lease with a plain HTTP request, behind the helper's back.</summary>
        private async Task ReleaseBehindAsync(JsonObject s, Lease lease)
        {
            var req = new JsonObject();
            req["op"] = "raw";
            req["actor"] = s["actor"];
            req["method"] = "POST";
            req["path"] = "/locks/" + Uri.EscapeDataString(lease.Name) + "/release";
            var b = new JsonObject();
            b["lease_id"] = lease.LeaseId;
            req["body"] = b;
            var res = await RawAsync(req).ConfigureAwait(false);
            if ((long)res.Result["http_status"] != 200) throw new StepFailure("release behind the helper's back: " + Json.Write(res.Result));
        }

        private static Outcome State(LockStatus s)
        {
            return Result(null, "name", s.Name, "status", s.Status, "revision", s.Revision, "holder_id", s.HolderId,
                "fencing_token", s.FencingToken, "expires_at", s.ExpiresAt, "metadata", s.Metadata,
                "max_holders", s.MaxHolders, "holder_count", (long)(s.Holders == null ? 0 : s.Holders.Count), "available_at", s.AvailableAt);
        }

        /// <summary>try_lock: TryAcquireAsync, or TryAcquireSemaphoreAsync with max_holders; with session, the session's forms.</summary>
        private Task<LockAttempt> TryAcquireAsync(JsonObject s)
        {
            var name = (string)s["lock"];
            var metadata = s["metadata"] as string;
            var delay = LockDelay(s);
            if (s.Has("session"))
            {
                var session = SessionOf(s);
                return s.Has("max_holders")
                    ? session.TryAcquireSemaphoreAsync(name, Int(s["max_holders"]), metadata, delay, cancel.Token)
                    : session.TryAcquireAsync(name, metadata, delay, cancel.Token);
            }
            var client = Client(s);
            return s.Has("max_holders")
                ? client.TryAcquireSemaphoreAsync(name, Int(s["max_holders"]), Int(s["ttl"]), metadata, AutoRenew(s), delay, cancel.Token)
                : client.TryAcquireAsync(name, Int(s["ttl"]), metadata, AutoRenew(s), delay, cancel.Token);
        }

        /// <summary>lock: LockAsync, or SemaphoreAsync with max_holders; with session, the session's forms.</summary>
        private Task<Lease> LockAsync(JsonObject s)
        {
            var name = (string)s["lock"];
            var metadata = s["metadata"] as string;
            var delay = LockDelay(s);
            var wait = TimeSpan.FromSeconds((long)s["wait"]);
            if (s.Has("session"))
            {
                var session = SessionOf(s);
                return s.Has("max_holders")
                    ? session.SemaphoreAsync(name, Int(s["max_holders"]), wait, metadata, delay, cancel.Token)
                    : session.LockAsync(name, wait, metadata, delay, cancel.Token);
            }
            var client = Client(s);
            return s.Has("max_holders")
                ? client.SemaphoreAsync(name, Int(s["max_holders"]), Int(s["ttl"]), wait, metadata, AutoRenew(s), delay, cancel.Token)
                : client.LockAsync(name, Int(s["ttl"]), wait, metadata, AutoRenew(s), delay, cancel.Token);
        }

        private static TimeSpan? LockDelay(JsonObject s)
        {
            return s.Has("lock_delay") ? TimeSpan.FromSeconds((long)s["lock_delay"]) : (TimeSpan?)null;
        }

        /// <summary>watch_prefix: WatchPrefixAsync until its first answer, or the step's wait.</summary>
        private async Task<Outcome> WatchPrefixAsync(JsonObject s)
        {
            var index = s["index"] is string ? long.Parse((string)s["index"], CultureInfo.InvariantCulture) : (long)s["index"];
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token))
            {
                cts.CancelAfter(TimeSpan.FromSeconds((long)s["wait"]));
                var answers = Client(s).WatchPrefixAsync((string)s["prefix"], index, cts.Token).GetAsyncEnumerator();
                try
                {
                    await answers.MoveNextAsync().ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                {
                    return Result(null, "index", index, "changes", new List<object>(), "count", 0L, "complete", true);
                }
                finally
                {
                    await answers.DisposeAsync().ConfigureAwait(false);
                }
                var got = answers.Current;
                var changes = got.Changes.Select(c => (object)(c.Name + ":" + c.Status)).ToList();
                return Result(null, "index", got.Index, "changes", changes, "count", (long)changes.Count, "complete", got.Complete);
            }
        }

        private static Outcome LeaderResult(Leader l)
        {
            if (l == null) return Result(null, "elected", false, "value", null, "holder_id", null, "fencing_token", null, "revision", null);
            return Result(null, "elected", true, "value", l.Value, "holder_id", l.HolderId, "fencing_token", l.FencingToken, "revision", l.Revision);
        }

        private async Task<Outcome> WaitUntilAsync(JsonObject s)
        {
            var until = (JsonObject)s["until"];
            var deadline = DateTime.UtcNow + TimeSpan.FromMilliseconds((long)s["timeout_ms"]);
            while (true)
            {
                var last = State(await Client(s).StatusAsync((string)s["lock"], cancel.Token).ConfigureAwait(false));
                if (until.All(kv => Matcher.Holds(kv.Value, last.Result[kv.Key]))) return last;
                if (DateTime.UtcNow > deadline) throw new StepFailure("wait_until: deadline passed; last status " + Json.Write(last.Result));
                await Task.Delay(100, cancel.Token).ConfigureAwait(false);
            }
        }

        private async Task<Outcome> ObserveAsync(JsonObject s)
        {
            var want = s["until_value"] as string;
            Leader found = null;
            var matched = false;
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token))
            {
                cts.CancelAfter(TimeSpan.FromMilliseconds((long)s["timeout_ms"]));
                try
                {
                    await Client(s).Election((string)s["election"]).ObserveAsync(l =>
                    {
                        matched = want == null ? l == null : l != null && l.Value == want;
                        found = l;
                        return !matched;
                    }, cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    throw new StepTimeout("observe: no leader with value '" + want + "' in time");
                }
            }
            return LeaderResult(found);
        }

        private async Task<Outcome> RawAsync(JsonObject s)
        {
            var handler = new HttpClientHandler { MaxConnectionsPerServer = 64 };
            using (var http = new HttpClient(handler))
            {
                var url = new StringBuilder(server.BaseUrl + (string)s["path"]);
                var query = s["query"] as JsonObject;
                if (query != null)
                {
                    var sep = '?';
                    foreach (var kv in query)
                    {
                        url.Append(sep).Append(Uri.EscapeDataString(kv.Key)).Append('=').Append(Uri.EscapeDataString(Convert.ToString(kv.Value, CultureInfo.InvariantCulture)));
                        sep = '&';
                    }
                }
                using (var req = new HttpRequestMessage(new HttpMethod((string)s["method"]), new Uri(url.ToString(), UriKind.Absolute)))
                {
                    var token = s.Has("actor") ? ActorOf(s).Token : null;
                    if (token != null) req.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
                    if (s.Has("body") || s.Has("body_text"))
                    {
                        var text = s.Has("body") ? Json.Write(s["body"]) : (string)s["body_text"];
                        req.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
                        req.Content.Headers.TryAddWithoutValidation("Content-Type", (s["content_type"] as string) ?? "application/json");
                    }
                    using (var res = await http.SendAsync(req, cancel.Token).ConfigureAwait(false))
                    {
                        var body = await res.Content.ReadAsStringAsync().ConfigureAwait(false);
                        var r = new JsonObject();
                        object doc = null;
                        try
                        {
                            doc = Json.Parse(body);
                        }
                        catch (FormatException)
                        {
                        }
                        var obj = doc as JsonObject;
                        if (obj != null) foreach (var kv in obj) r[kv.Key] = kv.Value;
                        r["http_status"] = (long)(int)res.StatusCode;
                        var ct = res.Content.Headers.ContentType;
                        r["content_type"] = ct == null ? null : ct.MediaType;
                        IEnumerable<string> values;
                        r["www_authenticate"] = res.Headers.TryGetValues("WWW-Authenticate", out values) ? string.Join(", ", values) : null;
                        r["x_request_id"] = res.Headers.TryGetValues("X-Request-Id", out values) ? string.Join(", ", values) : null;
                        return new Outcome { Result = r };
                    }
                }
            }
        }

        // --- references ---------------------------------------------------------------

        private object Resolve(object v)
        {
            var o = v as JsonObject;
            if (o != null)
            {
                var copy = new JsonObject();
                foreach (var kv in o) copy[kv.Key] = Resolve(kv.Value);
                return copy;
            }
            var list = v as List<object>;
            if (list != null) return list.Select(Resolve).ToList();
            var str = v as string;
            if (str == null) return v;
            var whole = WholeRef.Match(str);
            if (whole.Success) return Lookup(whole.Groups[1].Value, whole.Groups[2].Value);
            return Ref.Replace(str, m =>
            {
                var x = Lookup(m.Groups[1].Value, m.Groups[2].Value);
                if (x is DateTimeOffset) return ((DateTimeOffset)x).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
                return Convert.ToString(x, CultureInfo.InvariantCulture);
            });
        }

        private object Lookup(string name, string field)
        {
            JsonObject source;
            Outcome o;
            Actor a;
            if (saved.TryGetValue(name, out o)) source = o.Result;
            else if (actors.TryGetValue(name, out a)) source = a.Fields;
            else throw new StepFailure("unknown reference ${" + name + "." + field + "}");
            if (!source.Has(field)) throw new StepFailure("unknown reference ${" + name + "." + field + "}");
            return source[field];
        }

        // --- handles and cleanup ------------------------------------------------------

        private Actor ActorOf(JsonObject s)
        {
            Actor a;
            if (!actors.TryGetValue((string)s["actor"], out a)) throw new StepFailure("unknown actor " + s["actor"]);
            return a;
        }

        private OctoStoreClient Client(JsonObject s)
        {
            var a = ActorOf(s);
            if (a.Client == null) throw new StepFailure("actor " + s["actor"] + " has no client");
            return a.Client;
        }

        private Lease LeaseOf(JsonObject s)
        {
            Outcome o;
            if (!saved.TryGetValue((string)s["lease"], out o) || !(o.Handle is Lease)) throw new StepFailure(s["lease"] + " is not a saved lease");
            return (Lease)o.Handle;
        }

        private Session SessionOf(JsonObject s)
        {
            Outcome o;
            if (!saved.TryGetValue((string)s["session"], out o) || !(o.Handle is Session)) throw new StepFailure(s["session"] + " is not a saved session");
            return (Session)o.Handle;
        }

        private static int Int(object v)
        {
            return checked((int)(long)v);
        }

        private static bool AutoRenew(JsonObject s)
        {
            return !s.Has("auto_renew") || (bool)s["auto_renew"];
        }

        private void Track(Lease lease)
        {
            lock (leases) leases.Add(lease);
        }

        private async Task CleanupAsync()
        {
            cancel.Cancel();
            foreach (var t in tasks.Values)
            {
                try
                {
                    await Task.WhenAny(t, Task.Delay(5000)).ConfigureAwait(false);
                }
                catch (Exception)
                {
                }
            }
            List<Lease> all;
            lock (leases) all = new List<Lease>(leases);
            foreach (var l in all)
            {
                try
                {
                    await l.ReleaseAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                }
            }
            List<Session> open;
            lock (sessions) open = new List<Session>(sessions);
            foreach (var session in open) await session.DisposeAsync().ConfigureAwait(false);
            foreach (var a in actors.Values) if (a.Client != null) a.Client.Dispose();
            if (dedicated) server.Stop();
        }
    }

    /// <summary>The suite's matchers. Timestamps compare as instants, integers exactly, other numbers as doubles.</summary>
    public static class Matcher
    {
        public static bool Holds(object matcher, object actual)
        {
            var op = matcher as JsonObject;
            if (op == null) return Equal(actual, matcher);
            if (op.Count != 1) throw new StepFailure("a matcher object has exactly one operator: " + Json.Write(matcher));
            var kv = op.First();
            switch (kv.Key)
            {
                case "eq": return Equal(actual, kv.Value);
                case "ne": return !Equal(actual, kv.Value);
                case "gt":
                case "ge":
                case "lt":
                case "le":
                {
                    int? c = Compare(actual, kv.Value);
                    if (actual == null || !c.HasValue) return false;
                    return kv.Key == "gt" ? c > 0 : kv.Key == "ge" ? c >= 0 : kv.Key == "lt" ? c < 0 : c <= 0;
                }
                case "present": return (bool)kv.Value ? actual != null : actual == null;
                case "matches": return actual is string && Regex.IsMatch((string)actual, (string)kv.Value);
            }
            throw new StepFailure("unknown matcher " + kv.Key);
        }

        private static bool Equal(object actual, object want)
        {
            if (want == null) return actual == null;
            if (actual == null) return false;
            var wl = want as IList;
            if (wl != null)
            {
                var al = actual as IList;
                if (al == null || al.Count != wl.Count) return false;
                for (var i = 0; i < wl.Count; i++) if (!Equal(al[i], wl[i])) return false;
                return true;
            }
            var c = Compare(actual, want);
            if (c.HasValue) return c.Value == 0;
            return actual.Equals(want);
        }

        /// <summary>Compares two instants, two numbers or two strings; null when they are not of one kind.</summary>
        private static int? Compare(object a, object w)
        {
            if (a is DateTimeOffset || w is DateTimeOffset)
            {
                var x = Instant(a);
                var y = Instant(w);
                if (!x.HasValue || !y.HasValue) return null;
                return x.Value.CompareTo(y.Value);
            }
            if (a is long && w is long) return ((long)a).CompareTo((long)w);
            if ((a is long || a is double) && (w is long || w is double)) return Convert.ToDouble(a).CompareTo(Convert.ToDouble(w));
            if (a is string && w is string) return string.CompareOrdinal((string)a, (string)w);
            if (a is bool && w is bool) return ((bool)a).CompareTo((bool)w);
            return null;
        }

        private static DateTimeOffset? Instant(object v)
        {
            if (v is DateTimeOffset) return (DateTimeOffset)v;
            var s = v as string;
            DateTimeOffset t;
            if (s != null && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out t)) return t;
            return null;
        }
    }
}
