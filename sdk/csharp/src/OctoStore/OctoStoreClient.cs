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
        internal LockAttempt(Lease lease, string holderId, DateTimeOffset expiresAt, long? retryAfterMs)
        {
            Lease = lease;
            HolderId = holderId;
            ExpiresAt = expiresAt;
            RetryAfterMs = retryAfterMs;
        }

        /// <summary>Whether the lock was granted.</summary>
        public bool Acquired
        {
            get { return Lease != null; }
        }

        /// <summary>The lease when granted, else null.</summary>
        public Lease Lease { get; private set; }

        /// <summary>When not granted: who holds the lock.</summary>
        public string HolderId { get; private set; }

        /// <summary>When not granted: when the holder's lease ends unless renewed.</summary>
        public DateTimeOffset ExpiresAt { get; private set; }

        /// <summary>When not granted: when trying again is worthwhile, in milliseconds.</summary>
        public long? RetryAfterMs { get; private set; }
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

        private static readonly TimeSpan DefaultRetry = TimeSpan.FromMilliseconds(250);

        private string owner = NewOwner();
        private TimeSpan requestTimeout = TimeSpan.FromSeconds(10);
        private readonly HashSet<Lease> live = new HashSet<Lease>();
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
        /// <see cref="LockAttempt.Lease"/>, or who holds the lock. Never throws because the lock is held.
        /// </summary>
        /// <exception cref="ApiException">The server refused the request.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public async Task<LockAttempt> TryAcquireAsync(string name, int ttlSeconds = DefaultLockTtlSeconds, string metadata = null, bool autoRenew = true,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            var res = await CallAsync(ct => AcquireLockAsync(name, Body(ttlSeconds, 0, metadata), ct), RequestTimeout, cancellationToken).ConfigureAwait(false);
            if (res.Status == AcquireResultStatus.Acquired) return new LockAttempt(NewLease(name, ttlSeconds, metadata, res, autoRenew), null, res.ExpiresAt, null);
            return new LockAttempt(null, res.HolderId, res.ExpiresAt, res.RetryAfterMs);
        }

        /// <summary>
        /// Takes the lock if it is free (one attempt): the lease, or null when someone else holds
        /// it. The lease renews itself in the background unless <paramref name="autoRenew"/> is
        /// false. Taking a lock this client already holds returns the same lease and fencing token.
        /// </summary>
        /// <exception cref="ApiException">The server refused the request.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public async Task<Lease> TryLockAsync(string name, int ttlSeconds = DefaultLockTtlSeconds, string metadata = null, bool autoRenew = true,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return (await TryAcquireAsync(name, ttlSeconds, metadata, autoRenew, cancellationToken).ConfigureAwait(false)).Lease;
        }

        /// <summary>
        /// Waits in line for the lock, at most <paramref name="wait"/> in all (null: for ever;
        /// zero: one attempt), and returns the lease, which renews itself in the background
        /// until disposed. Dispose it (a <c>using</c> block) to release the lock.
        /// </summary>
        /// <exception cref="LockTimeoutException">The wait ended first.</exception>
        /// <exception cref="ApiException">The server refused the request.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public async Task<Lease> LockAsync(string name, int ttlSeconds = DefaultLockTtlSeconds, TimeSpan? wait = null, string metadata = null,
            bool autoRenew = true, CancellationToken cancellationToken = default(CancellationToken))
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var remaining = wait.HasValue ? wait.Value - clock.Elapsed : (TimeSpan?)null;
                var chunk = remaining.HasValue ? (int)Math.Max(0, Math.Min(MaxWaitSeconds, Math.Floor(remaining.Value.TotalSeconds))) : MaxWaitSeconds;
                var res = await CallAsync(ct => AcquireLockAsync(name, Body(ttlSeconds, chunk, metadata), ct),
                    RequestTimeout + TimeSpan.FromSeconds(chunk), cancellationToken).ConfigureAwait(false);
                // The lease's deadline counts from now, when the grant arrived, not from the send.
                if (res.Status == AcquireResultStatus.Acquired) return NewLease(name, ttlSeconds, metadata, res, autoRenew);
                var left = wait.HasValue ? wait.Value - clock.Elapsed : (TimeSpan?)null;
                if (left.HasValue && left.Value <= TimeSpan.Zero) throw new LockTimeoutException(name, wait.Value);
                // Held before the wait was over: a server without blocking acquire, or a wait
                // under a second. Back off as the server suggests and ask again.
                var delay = res.RetryAfterMs.HasValue
                    ? TimeSpan.FromMilliseconds(Math.Min(Math.Max(res.RetryAfterMs.Value, 50), 1000))
                    : DefaultRetry;
                if (left.HasValue && left.Value < delay) delay = left.Value;
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
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
            var lease = await LockAsync(name, ttlSeconds, wait ?? TimeSpan.Zero, metadata, true, cancellationToken).ConfigureAwait(false);
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

        /// <summary>Releases every lease this client still holds (each bounded by <see cref="RequestTimeout"/>); never throws.</summary>
        public void ReleaseAll()
        {
            List<Lease> all;
            lock (live) all = new List<Lease>(live);
            Task.WaitAll(all.Select(l => Task.Run(() => l.Dispose())).ToArray(), RequestTimeout);
        }

        internal void Forget(Lease lease)
        {
            lock (live) live.Remove(lease);
        }

        private Lease NewLease(string name, int ttlSeconds, string metadata, AcquireResult res, bool autoRenew)
        {
            var lease = new Lease(this, name, ttlSeconds, metadata, res, autoRenew);
            lock (live) live.Add(lease);
            return lease;
        }

        private AcquireRequest Body(int ttlSeconds, int waitSeconds, string metadata)
        {
            return new AcquireRequest
            {
                TtlSeconds = ttlSeconds,
                Owner = Owner,
                WaitSeconds = waitSeconds > 0 ? waitSeconds : (int?)null,
                Metadata = metadata,
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
