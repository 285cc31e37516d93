using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace OctoStore
{
    /// <summary>The outcome of one acquire attempt: a lease, or who holds the lock.</summary>
    public sealed class LockAttempt
    {
        internal LockAttempt(Lease lease, string holderId, DateTimeOffset expiresAt, long? retryAfterMs, DateTimeOffset? availableAt)
        {
            Lease = lease;
            HolderId = holderId;
            ExpiresAt = expiresAt;
            RetryAfterMs = retryAfterMs;
            AvailableAt = availableAt;
        }

        /// <summary>Whether the lock was granted.</summary>
        public bool Acquired
        {
            get { return Lease != null; }
        }

        /// <summary>The lease when granted, else null.</summary>
        public Lease Lease { get; private set; }

        /// <summary>
        /// When not granted: who holds the lock (a semaphore's holder with the lowest fencing
        /// token); null while a lock-delay keeps the lock from everyone (see <see cref="AvailableAt"/>).
        /// </summary>
        public string HolderId { get; private set; }

        /// <summary>When not granted: when the holder's lease ends unless renewed (during a lock-delay: when the delay ends).</summary>
        public DateTimeOffset ExpiresAt { get; private set; }

        /// <summary>When not granted: when trying again is worthwhile, in milliseconds.</summary>
        public long? RetryAfterMs { get; private set; }

        /// <summary>When not granted because a lock-delay keeps the lock (its last lease expired): when the delay ends; else null.</summary>
        public DateTimeOffset? AvailableAt { get; private set; }
    }

    /// <summary>What one acquire asks for; every helper form (lock, semaphore, through a session) fills one.</summary>
    internal sealed class AcquireSpec
    {
        public string Name;
        public int TtlSeconds;
        public string Metadata;
        public bool AutoRenew = true;
        public int? LockDelaySeconds;
        public int? MaxHolders;
        public Session Session;
    }

    /// <summary>
    /// The helpers on top of the generated operations: locks as leases that renew themselves,
    /// scoped locks, and elections.
    /// </summary>
    /// <example>
    /// <code>
    /// using (var client = new OctoStoreClient(new[] { "http://10.0.0.1:3000", "http://10.0.0.2:3000" }, token))
    /// {
    ///     await client.WithLockAsync("nightly-report", async lease =>
    ///     {
    ///         await storage.WriteAsync(report, lease.FencingToken, lease.Lost);
    ///     });
    /// }
    /// </code>
    /// </example>
    public partial class OctoStoreClient
    {
        /// <summary>Longest wait the server accepts for one blocking request.</summary>
        public const int MaxWaitSeconds = 60;

        /// <summary>The lock TTL the helpers use unless told otherwise, in seconds.</summary>
        public const int DefaultLockTtlSeconds = 15;

        /// <summary>The election TTL the helpers use unless told otherwise, in seconds.</summary>
        public const int DefaultElectionTtlSeconds = 15;

        /// <summary>The session TTL <see cref="OpenSessionAsync"/> uses unless told otherwise, in seconds.</summary>
        public const int DefaultSessionTtlSeconds = 15;

        private static readonly TimeSpan DefaultRetry = TimeSpan.FromMilliseconds(250);

        private string owner = NewOwner();
        private TimeSpan requestTimeout = TimeSpan.FromSeconds(10);
        private readonly HashSet<Lease> live = new HashSet<Lease>();
        private readonly HashSet<Session> sessions = new HashSet<Session>();
        private int shutdownHooked;

        /// <summary>
        /// Creates a client for several servers (one cluster's endpoints): every request goes to
        /// the first URL that answers; on a transport error or a 503 the client moves on to the
        /// next one and stays there.
        /// </summary>
        /// <param name="baseUrls">The servers' base URLs, such as <c>http://127.0.0.1:3000</c>; at least one.</param>
        /// <param name="token">The bearer token (sets <see cref="Token"/>).</param>
        public OctoStoreClient(IEnumerable<string> baseUrls, string token = null)
            : this(FirstUrl(baseUrls), token, null)
        {
            var urls = baseUrls.Select(u => u.TrimEnd('/')).ToList();
            http.Dispose();
            http = new HttpClient(new FailoverHandler(this, urls, Wire.NewHandler())) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            BaseUrls = urls.AsReadOnly();
        }

        /// <summary>The base URLs this client tries, in order (one for a client made with one URL).</summary>
        public IReadOnlyList<string> BaseUrls
        {
            get { return baseUrls ?? new List<string> { BaseUrl }.AsReadOnly(); }
            private set { baseUrls = value; }
        }

        private IReadOnlyList<string> baseUrls;

        /// <summary>
        /// This client's name among holders sharing the token, sent with every acquire and
        /// campaign; each owner is a distinct holder, and holder ids read <c>token_id/owner</c>.
        /// Defaults to a unique <c>host-pid-8hex</c>, so two processes (or two clients) sharing
        /// one token exclude each other. Set a stable value (a pod name) to make a restarted
        /// process re-acquire its own lease; setting null restores a fresh unique default.
        /// </summary>
        public string Owner
        {
            get { return owner; }
            set { owner = string.IsNullOrEmpty(value) ? NewOwner() : value; }
        }

        /// <summary>
        /// The longest any one request the helpers make may take (10 s by default); a blocking
        /// acquire or watch gets its wait on top. A renewal is also bounded by what is left of its
        /// lease, so a stalled server makes the loss signal fire when the lease ends.
        /// </summary>
        public TimeSpan RequestTimeout
        {
            get { return requestTimeout; }
            set
            {
                if (value <= TimeSpan.Zero) throw new ArgumentOutOfRangeException("value", "the request timeout must be positive");
                requestTimeout = value;
            }
        }

        /// <summary>
        /// Takes the lock if it is free (one attempt) and returns the attempt: its
        /// <see cref="LockAttempt.Lease"/>, or who holds the lock (and, during a lock-delay,
        /// <see cref="LockAttempt.AvailableAt"/>). Never throws because the lock is held.
        /// </summary>
        /// <param name="name">The lock's name.</param>
        /// <param name="ttlSeconds">The lease's TTL (1 s to 1 h).</param>
        /// <param name="metadata">A small value stored with the lease, shown to everyone in the account.</param>
        /// <param name="autoRenew">Whether the lease renews itself in the background.</param>
        /// <param name="lockDelay">
        /// The lock's lock-delay (whole seconds, 0 to 60 s): when this lease expires, nobody is
        /// granted the lock for that long, so a holder that lost it without noticing has time to
        /// stop. A release never starts it. Null: none.
        /// </param>
        /// <param name="cancellationToken">Cancels the request.</param>
        /// <exception cref="ApiException">The server refused the request.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public Task<LockAttempt> TryAcquireAsync(string name, int ttlSeconds = DefaultLockTtlSeconds, string metadata = null, bool autoRenew = true,
            TimeSpan? lockDelay = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return TryAcquireCoreAsync(Spec(name, ttlSeconds, null, metadata, autoRenew, lockDelay), cancellationToken);
        }

        /// <summary>
        /// Takes the lock if it is free (one attempt): the lease, or null when someone else holds
        /// it. The lease renews itself in the background unless <paramref name="autoRenew"/> is
        /// false. Taking a lock this client already holds returns the same lease and fencing token.
        /// <paramref name="lockDelay"/> as for <see cref="TryAcquireAsync"/>.
        /// </summary>
        /// <exception cref="ApiException">The server refused the request.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public async Task<Lease> TryLockAsync(string name, int ttlSeconds = DefaultLockTtlSeconds, string metadata = null, bool autoRenew = true,
            TimeSpan? lockDelay = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return (await TryAcquireAsync(name, ttlSeconds, metadata, autoRenew, lockDelay, cancellationToken).ConfigureAwait(false)).Lease;
        }

        /// <summary>
        /// Waits in line for the lock, at most <paramref name="wait"/> in all (null: for ever;
        /// zero: one attempt), and returns the lease, which renews itself in the background
        /// until disposed. Dispose it (a <c>using</c> block) to release the lock. A lock-delay
        /// in force is waited out. <paramref name="lockDelay"/> as for <see cref="TryAcquireAsync"/>.
        /// </summary>
        /// <exception cref="LockTimeoutException">The wait ended first.</exception>
        /// <exception cref="ApiException">The server refused the request.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public Task<Lease> LockAsync(string name, int ttlSeconds = DefaultLockTtlSeconds, TimeSpan? wait = null, string metadata = null,
            bool autoRenew = true, TimeSpan? lockDelay = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return LockCoreAsync(Spec(name, ttlSeconds, null, metadata, autoRenew, lockDelay), wait, cancellationToken);
        }

        /// <summary>
        /// One attempt at one of the <paramref name="maxHolders"/> places of the semaphore
        /// <paramref name="name"/> (1 to 64; up to that many distinct holders hold it at once, each
        /// with a lease and fencing token of its own): the attempt, as <see cref="TryAcquireAsync"/>
        /// returns it; when every place is taken, <see cref="LockAttempt.HolderId"/> is the holder
        /// with the lowest fencing token. Every holder of a name must ask for the same number
        /// (409 <c>max_holders_mismatch</c> otherwise).
        /// </summary>
        /// <exception cref="ApiException">The server refused the request.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public Task<LockAttempt> TryAcquireSemaphoreAsync(string name, int maxHolders, int ttlSeconds = DefaultLockTtlSeconds, string metadata = null,
            bool autoRenew = true, TimeSpan? lockDelay = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return TryAcquireCoreAsync(Spec(name, ttlSeconds, maxHolders, metadata, autoRenew, lockDelay), cancellationToken);
        }

        /// <summary>One attempt at a place of the semaphore: the lease, or null when all <paramref name="maxHolders"/> are taken; see <see cref="TryAcquireSemaphoreAsync"/>.</summary>
        /// <exception cref="ApiException">The server refused the request.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public async Task<Lease> TrySemaphoreAsync(string name, int maxHolders, int ttlSeconds = DefaultLockTtlSeconds, string metadata = null,
            bool autoRenew = true, TimeSpan? lockDelay = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return (await TryAcquireSemaphoreAsync(name, maxHolders, ttlSeconds, metadata, autoRenew, lockDelay, cancellationToken).ConfigureAwait(false)).Lease;
        }

        /// <summary>
        /// Waits in the semaphore's line for one of its <paramref name="maxHolders"/> places, at
        /// most <paramref name="wait"/> (as <see cref="LockAsync"/>), and returns the lease, which
        /// renews itself until disposed.
        /// </summary>
        /// <exception cref="LockTimeoutException">The wait ended first.</exception>
        /// <exception cref="ApiException">The server refused the request.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public Task<Lease> SemaphoreAsync(string name, int maxHolders, int ttlSeconds = DefaultLockTtlSeconds, TimeSpan? wait = null, string metadata = null,
            bool autoRenew = true, TimeSpan? lockDelay = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            return LockCoreAsync(Spec(name, ttlSeconds, maxHolders, metadata, autoRenew, lockDelay), wait, cancellationToken);
        }

        /// <summary>
        /// Creates a session of <paramref name="ttlSeconds"/> (1 s to 1 h) and keeps it alive in
        /// the background until it is closed; take locks through it with
        /// <see cref="Session.LockAsync"/> and <see cref="Session.SemaphoreAsync"/>.
        /// <paramref name="cancellationToken"/> cancels only the creating request.
        /// </summary>
        /// <exception cref="ApiException">The server refused the request (409 <c>session_limit_exceeded</c>, 400 <c>invalid_ttl</c>).</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public async Task<Session> OpenSessionAsync(int ttlSeconds = DefaultSessionTtlSeconds, CancellationToken cancellationToken = default(CancellationToken))
        {
            var session = await Session.OpenAsync(this, ttlSeconds, cancellationToken).ConfigureAwait(false);
            lock (sessions) sessions.Add(session);
            return session;
        }

        /// <summary>
        /// The index to watch the locks under <paramref name="prefix"/> from: every change under it
        /// so far is at or below it. Pass it to <see cref="WatchPrefixAsync"/> to see only what
        /// changes from now on.
        /// </summary>
        /// <exception cref="ApiException">The server refused the request.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public async Task<long> PrefixIndexAsync(string prefix, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (prefix == null) throw new ArgumentNullException("prefix");
            var list = await CallAsync(ct => ListLocksAsync(limit: 1, prefix: prefix, cancellationToken: ct), RequestTimeout, cancellationToken).ConfigureAwait(false);
            if (!list.Index.HasValue) throw new InvalidOperationException("the server's prefix list has no index");
            return list.Index.Value;
        }

        /// <summary>
        /// Follows every change of the locks under <paramref name="prefix"/> after
        /// <paramref name="index"/>: a stream of the server's answers that carry changes, in
        /// order, each with the index it answered (see <see cref="PrefixChanges"/>). Index 0 starts
        /// with every lock under the prefix; <see cref="PrefixIndexAsync"/> gives the current one.
        /// Coming back with each answer's index, it misses no change (a lock that changed several
        /// times between two answers is reported once, as it is now). 429 and 503 answers are
        /// waited out. The stream never ends by itself: cancel it (this token, or the one given
        /// to <c>GetAsyncEnumerator</c>), and <c>MoveNextAsync</c> throws OperationCanceledException.
        /// </summary>
        /// <example>
        /// <code>
        /// // C# 8 or later: await foreach (var answer in client.WatchPrefixAsync("jobs.", index, stop)) { ... }
        /// var answers = client.WatchPrefixAsync("jobs.", await client.PrefixIndexAsync("jobs."), stop).GetAsyncEnumerator();
        /// while (await answers.MoveNextAsync())
        ///     foreach (var lockState in answers.Current.Changes) Console.WriteLine(lockState.Name + " " + lockState.Status);
        /// </code>
        /// </example>
        public IAsyncEnumerable<PrefixChanges> WatchPrefixAsync(string prefix, long index = 0, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (prefix == null) throw new ArgumentNullException("prefix");
            return new PrefixWatch(this, prefix, index, cancellationToken);
        }

        /// <summary>One acquire attempt (wait_seconds 0).</summary>
        internal async Task<LockAttempt> TryAcquireCoreAsync(AcquireSpec spec, CancellationToken cancellationToken)
        {
            if (spec.Session != null) spec.Session.EnsureUsable();
            var res = await AcquireCallAsync(spec, 0, RequestTimeout, cancellationToken).ConfigureAwait(false);
            if (res.Status == AcquireResultStatus.Acquired) return new LockAttempt(NewLease(spec, res), null, res.ExpiresAt, null, null);
            return new LockAttempt(null, res.HolderId, res.ExpiresAt, res.RetryAfterMs, res.AvailableAt);
        }

        /// <summary>
        /// One acquire request. When the server answers that it no longer knows the spec's
        /// session, the session is lost now, not when its next renewal finds out, and so is every
        /// lease bound to it: that ends it and throws <see cref="SessionLostException"/>, which
        /// the blocking acquire does not retry.
        /// </summary>
        private async Task<AcquireResult> AcquireCallAsync(AcquireSpec spec, int waitSeconds, TimeSpan timeout, CancellationToken cancellationToken)
        {
            try
            {
                return await CallAsync(ct => AcquireLockAsync(spec.Name, Body(spec, waitSeconds), ct), timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (ApiException e) when (spec.Session != null && e.Code == ProblemCode.SessionNotFound)
            {
                spec.Session.Forgotten(e);
                throw new SessionLostException(spec.Session.Id, e);
            }
        }

        /// <summary>The blocking acquire: waits in line, at most <paramref name="wait"/> (null: for ever).</summary>
        internal async Task<Lease> LockCoreAsync(AcquireSpec spec, TimeSpan? wait, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                if (spec.Session != null) spec.Session.EnsureUsable();
                var remaining = wait.HasValue ? wait.Value - clock.Elapsed : (TimeSpan?)null;
                var chunk = remaining.HasValue ? (int)Math.Max(0, Math.Min(MaxWaitSeconds, Math.Floor(remaining.Value.TotalSeconds))) : MaxWaitSeconds;
                var res = await AcquireCallAsync(spec, chunk, RequestTimeout + TimeSpan.FromSeconds(chunk), cancellationToken).ConfigureAwait(false);
                // The lease's deadline counts from now, when the grant arrived, not from the send.
                if (res.Status == AcquireResultStatus.Acquired) return NewLease(spec, res);
                var left = wait.HasValue ? wait.Value - clock.Elapsed : (TimeSpan?)null;
                if (left.HasValue && left.Value <= TimeSpan.Zero) throw new LockTimeoutException(spec.Name, wait.Value);
                // Held before the wait was over: a server without blocking acquire, or a wait
                // under a second. Back off as the server suggests and ask again.
                var delay = res.RetryAfterMs.HasValue
                    ? TimeSpan.FromMilliseconds(Math.Min(Math.Max(res.RetryAfterMs.Value, 50), 1000))
                    : DefaultRetry;
                if (left.HasValue && left.Value < delay) delay = left.Value;
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }

        private static AcquireSpec Spec(string name, int ttlSeconds, int? maxHolders, string metadata, bool autoRenew, TimeSpan? lockDelay)
        {
            if (maxHolders.HasValue) CheckMaxHolders(maxHolders.Value);
            return new AcquireSpec
            {
                Name = name,
                TtlSeconds = ttlSeconds,
                MaxHolders = maxHolders,
                Metadata = metadata,
                AutoRenew = autoRenew,
                LockDelaySeconds = DelaySeconds(lockDelay),
            };
        }

        internal static void CheckMaxHolders(int maxHolders)
        {
            // The upper bound (64) is the server's to check, so every SDK reports it alike.
            if (maxHolders < 1) throw new ArgumentOutOfRangeException("maxHolders", "a semaphore has at least one place");
        }

        /// <summary>A lock-delay as the API's whole seconds (null: none). Its range is the server's to check.</summary>
        internal static int? DelaySeconds(TimeSpan? lockDelay)
        {
            if (!lockDelay.HasValue || lockDelay.Value == TimeSpan.Zero) return null;
            var d = lockDelay.Value;
            if (d < TimeSpan.Zero || d.Ticks % TimeSpan.TicksPerSecond != 0 || d.TotalSeconds > int.MaxValue)
            {
                throw new ArgumentOutOfRangeException("lockDelay", "a lock-delay is whole seconds, 0 to 60");
            }
            return (int)d.TotalSeconds;
        }

        /// <summary>
        /// The scoped form: takes the lock (waiting at most <paramref name="wait"/>; default one
        /// attempt), runs <paramref name="body"/> with the lease, and releases the lock however the
        /// body ends. An exception from the body always comes out unchanged; if the release failed
        /// too, its exception is attached to the body's in <c>Exception.Data["OctoStore.ReleaseError"]</c>.
        /// When the body returns normally but the lock was lost while it ran, this throws
        /// <see cref="LockLostException"/>.
        /// </summary>
        /// <exception cref="LockTimeoutException">The lock was not acquired within the wait.</exception>
        /// <exception cref="LockLostException">The lock was lost while the body ran.</exception>
        public async Task WithLockAsync(string name, Func<Lease, Task> body, int ttlSeconds = DefaultLockTtlSeconds, TimeSpan? wait = null,
            string metadata = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (body == null) throw new ArgumentNullException("body");
            await WithLockAsync<bool>(name, async l =>
            {
                await body(l).ConfigureAwait(false);
                return true;
            }, ttlSeconds, wait, metadata, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The scoped form with a result; see <see cref="WithLockAsync(string, Func{Lease, Task}, int, TimeSpan?, string, CancellationToken)"/>.</summary>
        public async Task<T> WithLockAsync<T>(string name, Func<Lease, Task<T>> body, int ttlSeconds = DefaultLockTtlSeconds, TimeSpan? wait = null,
            string metadata = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (body == null) throw new ArgumentNullException("body");
            var lease = await LockAsync(name, ttlSeconds, wait ?? TimeSpan.Zero, metadata, true, null, cancellationToken).ConfigureAwait(false);
            T result;
            try
            {
                result = await body(lease).ConfigureAwait(false);
            }
            catch (Exception userError)
            {
                var releaseError = await lease.TryReleaseAsync().ConfigureAwait(false);
                if (releaseError != null)
                {
                    try
                    {
                        userError.Data["OctoStore.ReleaseError"] = releaseError;
                    }
                    catch (ArgumentException)
                    {
                    }
                    Trace.TraceWarning("OctoStore: releasing lock '{0}' after the block failed: {1}", name, releaseError.Message);
                }
                throw;
            }
            if (lease.IsLost)
            {
                lease.Dispose();
                throw new LockLostException(name, lease.LostReason);
            }
            try
            {
                await lease.ReleaseAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ApiException e) when (e.Code == ProblemCode.LeaseNotCurrent)
            {
                throw new LockLostException(name, e);
            }
            return result;
        }

        /// <summary>
        /// Waits (at most <paramref name="waitSeconds"/>, up to 60) until the lock's revision
        /// exceeds <paramref name="index"/> and returns the state then; after the wait, the
        /// unchanged state. Pass the last revision you saw and no change is ever missed.
        /// </summary>
        public Task<LockStatus> WatchAsync(string name, long index, int waitSeconds = 30,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return CallAsync(ct => GetLockAsync(name, index, waitSeconds, null, ct), RequestTimeout + TimeSpan.FromSeconds(Math.Max(0, waitSeconds)), cancellationToken);
        }

        /// <summary>The lock's current state (one request, bounded by <see cref="RequestTimeout"/>).</summary>
        public Task<LockStatus> StatusAsync(string name, CancellationToken cancellationToken = default(CancellationToken))
        {
            return CallAsync(ct => GetLockAsync(name, null, null, null, ct), RequestTimeout, cancellationToken);
        }

        /// <summary>An election on the lock <paramref name="name"/>; the leader holds it with a <paramref name="ttlSeconds"/> lease.</summary>
        public Election Election(string name, int ttlSeconds = DefaultElectionTtlSeconds)
        {
            return new Election(this, name, ttlSeconds);
        }

        /// <summary>
        /// Opt-in: on Ctrl-C (SIGINT, <see cref="Console.CancelKeyPress"/>), when the process
        /// exits (<see cref="AppDomain.ProcessExit"/>, which .NET raises on SIGTERM) and, on Mono,
        /// on SIGTERM (watched with Mono.Posix's UnixSignal; the process then exits with 143), release every
        /// lock and resign every election this client still holds, so others need not wait for
        /// the TTL. Ctrl-C still ends the process. Calling it again does nothing.
        /// </summary>
        public void ReleaseOnShutdown()
        {
            if (Interlocked.Exchange(ref shutdownHooked, 1) == 1) return;
            Console.CancelKeyPress += (s, e) => ReleaseAll();
            AppDomain.CurrentDomain.ProcessExit += (s, e) => ReleaseAll();
            lock (Hooked)
            {
                Hooked.Add(this);
                if (!sigtermWatched) sigtermWatched = WatchSigtermOnMono();
            }
        }

        private static readonly List<OctoStoreClient> Hooked = new List<OctoStoreClient>();
        private static bool sigtermWatched;

        /// <summary>
        /// Mono raises no ProcessExit on SIGTERM: there, a background thread waits for SIGTERM with
        /// Mono.Posix's UnixSignal (loaded by reflection, so the SDK needs no reference to it),
        /// releases every hooked client's leases and exits with 143, as the default action would.
        /// </summary>
        private static bool WatchSigtermOnMono()
        {
            if (Type.GetType("Mono.Runtime") == null) return true;
            const string posix = ", Mono.Posix, Version=4.0.0.0, Culture=neutral, PublicKeyToken=0738eb9f132ed756";
            try
            {
                var signalType = Type.GetType("Mono.Unix.UnixSignal" + posix);
                var signumType = Type.GetType("Mono.Unix.Native.Signum" + posix);
                if (signalType == null || signumType == null) return true;
                var signals = Array.CreateInstance(signalType, 1);
                signals.SetValue(Activator.CreateInstance(signalType, Enum.Parse(signumType, "SIGTERM")), 0);
                var waitAny = signalType.GetMethod("WaitAny", new[] { signals.GetType() });
                if (waitAny == null) return true;
                var watcher = new Thread(() =>
                {
                    waitAny.Invoke(null, new object[] { signals });
                    List<OctoStoreClient> clients;
                    lock (Hooked) clients = new List<OctoStoreClient>(Hooked);
                    foreach (var c in clients) c.ReleaseAll();
                    Environment.Exit(143);
                }) { IsBackground = true, Name = "OctoStore SIGTERM" };
                watcher.Start();
            }
            catch (Exception e)
            {
                Trace.TraceWarning("OctoStore: cannot watch SIGTERM: {0}", e.Message);
            }
            return true;
        }

        /// <summary>
        /// Releases every lease this client still holds and closes every session it opened
        /// (which releases the locks bound to them), each bounded by <see cref="RequestTimeout"/>;
        /// never throws.
        /// </summary>
        public void ReleaseAll()
        {
            List<Lease> all;
            lock (live) all = new List<Lease>(live);
            List<Session> open;
            lock (sessions) open = new List<Session>(sessions);
            var work = all.Select(l => Task.Run(() => l.Dispose())).Concat(open.Select(s => Task.Run(() => s.Dispose())));
            Task.WaitAll(work.ToArray(), RequestTimeout + TimeSpan.FromSeconds(1));
        }

        internal void Forget(Lease lease)
        {
            lock (live) live.Remove(lease);
        }

        internal void Forget(Session session)
        {
            lock (sessions) sessions.Remove(session);
        }

        private Lease NewLease(AcquireSpec spec, AcquireResult res)
        {
            var lease = new Lease(this, spec, res);
            lock (live) live.Add(lease);
            return lease;
        }

        private AcquireRequest Body(AcquireSpec spec, int waitSeconds)
        {
            return new AcquireRequest
            {
                // Through a session the session's TTL rules: no ttl_seconds.
                TtlSeconds = spec.Session == null ? spec.TtlSeconds : (int?)null,
                SessionId = spec.Session == null ? null : spec.Session.Id,
                Owner = Owner,
                WaitSeconds = waitSeconds > 0 ? waitSeconds : (int?)null,
                Metadata = spec.Metadata,
                LockDelaySeconds = spec.LockDelaySeconds,
                MaxHolders = spec.MaxHolders,
            };
        }

        /// <summary>
        /// Runs one generated call bounded by <paramref name="timeout"/> (the whole list of URLs
        /// gets it once per URL), so a stalled server can never hold a helper longer; transport
        /// failures come out as <see cref="TransportException"/> naming the URL.
        /// </summary>
        internal async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, TimeSpan timeout, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (baseUrls != null && baseUrls.Count > 1) timeout = TimeSpan.FromTicks(timeout.Ticks * baseUrls.Count);
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                Task<T> task;
                try
                {
                    task = call(cts.Token);
                }
                catch (HttpRequestException e)
                {
                    throw Transport(e);
                }
                var timer = Task.Delay(timeout <= TimeSpan.Zero ? TimeSpan.Zero : timeout, cancellationToken);
                var first = await Task.WhenAny(task, timer).ConfigureAwait(false);
                if (first != task)
                {
                    cts.Cancel();
                    Observe(task);
                    cancellationToken.ThrowIfCancellationRequested();
                    throw new TransportException(BaseUrls[0], "no answer within " + timeout.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + " s", null);
                }
                try
                {
                    return await task.ConfigureAwait(false);
                }
                catch (TransportException)
                {
                    throw;
                }
                catch (HttpRequestException e)
                {
                    throw Transport(e);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TransportException(BaseUrls[0], "the request timed out", e);
                }
            }
        }

        private TransportException Transport(Exception e)
        {
            return new TransportException(BaseUrls[0], Describe(e), e);
        }

        internal static void Observe(Task task)
        {
            task.ContinueWith(t => { var ignored = t.Exception; }, TaskContinuationOptions.OnlyOnFaulted);
        }

        /// <summary>A short cause for a transport failure: "connection refused", or the innermost message.</summary>
        internal static string Describe(Exception e)
        {
            string innermost = e.Message;
            for (var x = e; x != null; x = x.InnerException)
            {
                var sock = x as SocketException;
                if (sock != null && sock.SocketErrorCode == SocketError.ConnectionRefused) return "connection refused";
                if (x.Message.IndexOf("refused", StringComparison.OrdinalIgnoreCase) >= 0) return "connection refused (" + x.Message + ")";
                innermost = x.Message;
            }
            return innermost;
        }

        private static string FirstUrl(IEnumerable<string> urls)
        {
            if (urls == null) throw new ArgumentNullException("baseUrls");
            var first = urls.FirstOrDefault();
            if (first == null) throw new ArgumentException("at least one base URL is needed", "baseUrls");
            return first;
        }

        private static string NewOwner()
        {
            string host;
            try
            {
                host = Dns.GetHostName();
            }
            catch (SocketException)
            {
                host = Environment.MachineName;
            }
            int pid;
            using (var p = Process.GetCurrentProcess()) pid = p.Id;
            return host + "-" + pid + "-" + Guid.NewGuid().ToString("N").Substring(0, 8);
        }

        /// <summary>
        /// Sends each request to the current base URL; on a transport error or a 503 moves to the
        /// next one (and stays there). Each attempt is bounded by the client's request timeout
        /// plus the request's own <c>wait_seconds</c>.
        /// </summary>
        private sealed class FailoverHandler : DelegatingHandler
        {
            private static readonly Regex WaitQuery = new Regex(@"[?&]wait_seconds=([0-9]+)");
            private static readonly Regex WaitBody = new Regex("\"wait_seconds\":([0-9]+)");
            private readonly OctoStoreClient client;
            private readonly List<string> urls;
            private int current;

            internal FailoverHandler(OctoStoreClient client, List<string> urls, HttpMessageHandler inner) : base(inner)
            {
                this.client = client;
                this.urls = urls;
            }

            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var full = request.RequestUri.ToString();
                var rest = full.StartsWith(urls[0], StringComparison.Ordinal) ? full.Substring(urls[0].Length) : request.RequestUri.PathAndQuery;
                byte[] body = request.Content == null ? null : await request.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                var wait = 0;
                var m = WaitQuery.Match(rest);
                if (m.Success) wait = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (body != null)
                {
                    m = WaitBody.Match(System.Text.Encoding.UTF8.GetString(body));
                    if (m.Success) wait = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                }
                var timeout = client.RequestTimeout + TimeSpan.FromSeconds(Math.Min(wait, MaxWaitSeconds));
                var start = Volatile.Read(ref current);
                Exception last = null;
                string lastUrl = urls[start];
                for (var k = 0; k < urls.Count; k++)
                {
                    var i = (start + k) % urls.Count;
                    lastUrl = urls[i];
                    var attempt = new HttpRequestMessage(request.Method, urls[i] + rest);
                    foreach (var h in request.Headers) attempt.Headers.TryAddWithoutValidation(h.Key, h.Value);
                    if (body != null)
                    {
                        attempt.Content = new ByteArrayContent(body);
                        foreach (var h in request.Content.Headers) attempt.Content.Headers.TryAddWithoutValidation(h.Key, h.Value);
                    }
                    using (var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                    {
                        cts.CancelAfter(timeout);
                        try
                        {
                            var response = await base.SendAsync(attempt, cts.Token).ConfigureAwait(false);
                            if ((int)response.StatusCode == 503 && k < urls.Count - 1)
                            {
                                response.Dispose();
                                last = new HttpRequestException("503 Service Unavailable");
                                continue;
                            }
                            Volatile.Write(ref current, i);
                            return response;
                        }
                        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                        {
                            last = new TimeoutException("no answer within " + timeout.TotalSeconds + " s", e);
                        }
                        catch (HttpRequestException e)
                        {
                            last = e;
                        }
                        catch (WebException e)
                        {
                            last = e;
                        }
                        catch (IOException e)
                        {
                            last = e;
                        }
                        catch (SocketException e)
                        {
                            last = e;
                        }
                    }
                }
                throw new TransportException(lastUrl, Describe(last), last);
            }
        }
    }
}
