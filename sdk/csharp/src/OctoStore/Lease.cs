using System;
using System.Diagnostics;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace OctoStore
{
    /// <summary>
    /// A held lock (or one place of a semaphore). Unless created with autoRenew false it renews
    /// itself in the background at the server's <c>renew_after_ms</c> (a third of the TTL when the
    /// server sends none); one taken through a <see cref="OctoStore.Session"/> is kept alive by
    /// the session instead and ends with it. Dispose it to stop renewing and release the lock.
    /// </summary>
    /// <remarks>
    /// A lease is not a guarantee: a process can stall past its TTL and still believe it holds
    /// the lock. Send <see cref="FencingToken"/> with every write to the resource you protect
    /// and have the resource refuse tokens smaller than the largest it has seen.
    /// <see cref="Lost"/> is cancelled when the lease ends without a release (a renewal was
    /// refused, or failed until the lease ran out): pass it to the work you do under the lock.
    /// </remarks>
    public sealed class Lease : IDisposable, IAsyncDisposable
    {
        private readonly OctoStoreClient client;
        private readonly object gate = new object();
        private readonly CancellationTokenSource stop = new CancellationTokenSource();
        private readonly CancellationTokenSource lost = new CancellationTokenSource();
        private readonly Stopwatch clock = Stopwatch.StartNew(); // started when the grant arrived
        private DateTimeOffset expiresAt;
        private long? renewAfterMs;
        private TimeSpan deadline; // on clock: the lease surely ends by then unless renewed
        private Exception lostReason;
        private volatile bool isLost;
        private int disposed;
        private int released; // a release or dispose began: the session's end is no loss then
        private CancellationTokenRegistration sessionEnded;

        internal Lease(OctoStoreClient client, AcquireSpec spec, AcquireResult result)
        {
            this.client = client;
            Name = spec.Name;
            Session = spec.Session;
            TtlSeconds = Session != null ? Session.TtlSeconds : spec.TtlSeconds;
            MaxHolders = spec.MaxHolders;
            Metadata = spec.Metadata;
            LeaseId = result.LeaseId;
            FencingToken = result.FencingToken.GetValueOrDefault();
            HolderId = result.HolderId;
            Owner = client.Owner;
            expiresAt = result.ExpiresAt;
            renewAfterMs = result.RenewAfterMs;
            deadline = Remaining(TtlSeconds, result.RenewAfterMs);
            if (Session != null)
            {
                // The session keeps the lease alive; the lease ends when the session does.
                var session = Session;
                sessionEnded = session.Ended.Register(() =>
                {
                    if (Volatile.Read(ref released) == 0) MarkLost(session.EndReason());
                });
            }
            else if (spec.AutoRenew)
            {
                OctoStoreClient.Observe(Task.Run(() => RenewLoopAsync()));
            }
        }

        /// <summary>The lock's name.</summary>
        public string Name { get; private set; }

        /// <summary>The lease id (renew and release use it).</summary>
        public string LeaseId { get; private set; }

        /// <summary>The fencing token: strictly larger than every token issued before this grant.</summary>
        public long FencingToken { get; private set; }

        /// <summary>Who holds the lock (<c>token_id/owner</c>) when the server's grant says so, else null; <see cref="Owner"/> is always known.</summary>
        public string HolderId { get; private set; }

        /// <summary>The owner the acquire was sent with.</summary>
        public string Owner { get; private set; }

        /// <summary>The TTL each renewal asks for (through a session: the session's TTL, which the server applies).</summary>
        public int TtlSeconds { get; private set; }

        /// <summary>The session the lease is bound to, or null for a lease with a TTL of its own.</summary>
        public Session Session { get; private set; }

        /// <summary>For a place of a semaphore: how many holders it admits; null for a plain lock.</summary>
        public int? MaxHolders { get; private set; }

        /// <summary>The metadata sent with the acquire, if any.</summary>
        public string Metadata { get; private set; }

        /// <summary>When the lease ends unless renewed, as the server last reported.</summary>
        public DateTimeOffset ExpiresAt
        {
            get { lock (gate) return expiresAt; }
        }

        /// <summary>The server's latest hint for the next renewal, in milliseconds.</summary>
        public long? RenewAfterMs
        {
            get { lock (gate) return renewAfterMs; }
        }

        /// <summary>
        /// Cancelled when the lease is lost (it ended without a release; through a session: the
        /// session ended). Its callbacks run on a thread pool thread, never inside the renewer, so
        /// they may dispose the lease.
        /// </summary>
        public CancellationToken Lost
        {
            get { return lost.Token; }
        }

        /// <summary>Whether the lease is lost.</summary>
        public bool IsLost
        {
            get { return isLost; }
        }

        /// <summary>Why the lease was lost, or null.</summary>
        public Exception LostReason
        {
            get { lock (gate) return lostReason; }
        }

        /// <summary>Renews now, to <paramref name="ttlSeconds"/> (default the lease's TTL).</summary>
        /// <exception cref="ApiException">With code <c>lease_not_current</c> when the lease has already ended (it is then lost).</exception>
        public async Task<Lease> RenewAsync(int? ttlSeconds = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            try
            {
                await RenewNowAsync(ttlSeconds ?? TtlSeconds, client.RequestTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (ApiException e) when (e.Code == ProblemCode.LeaseNotCurrent)
            {
                MarkLost(e);
                throw;
            }
            return this;
        }

        /// <summary>
        /// Stops renewing and gives the lock back; returns the server's answer. Always asks the
        /// server, also after a loss.
        /// </summary>
        /// <exception cref="ApiException">With code <c>lease_not_current</c> when the lease had already ended.</exception>
        public async Task<ReleaseResult> ReleaseAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            Interlocked.Exchange(ref released, 1);
            StopRenewing();
            client.Forget(this);
            return await client.CallAsync(ct => client.ReleaseLockAsync(Name, new ReleaseRequest { LeaseId = LeaseId }, ct),
                client.RequestTimeout, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>
        /// Stops renewing and releases the lock if it is still held. Never throws and never
        /// waits for the renewer: after a loss it returns at once; otherwise the release is
        /// bounded by the client's <see cref="OctoStoreClient.RequestTimeout"/>, and a lease that
        /// cannot be released now runs out at its TTL. Call <see cref="ReleaseAsync"/> to see errors.
        /// </summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 1) return;
            Interlocked.Exchange(ref released, 1);
            StopRenewing();
            client.Forget(this);
            if (isLost) return;
            var release = Task.Run(() => TryReleaseAsync());
            release.Wait(client.RequestTimeout + TimeSpan.FromSeconds(1));
            OctoStoreClient.Observe(release);
        }

        /// <summary>
        /// Stops renewing and releases the lock if it is still held, as <see cref="Dispose"/> does,
        /// without blocking a thread: never throws, returns at once after a loss. For <c>await using</c>.
        /// </summary>
        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 1) return default(ValueTask);
            Interlocked.Exchange(ref released, 1);
            StopRenewing();
            client.Forget(this);
            if (isLost) return default(ValueTask);
            return new ValueTask(ReleaseQuietlyAsync());
        }

        private async Task ReleaseQuietlyAsync()
        {
            var error = await TryReleaseAsync().ConfigureAwait(false);
            if (error != null) Trace.TraceWarning("OctoStore: releasing lock '{0}': {1}", Name, error.Message);
        }

        /// <summary>Releases and returns the error instead of throwing it (null: released, or already lost and nothing to do).</summary>
        internal async Task<Exception> TryReleaseAsync()
        {
            Interlocked.Exchange(ref disposed, 1);
            StopRenewing();
            client.Forget(this);
            try
            {
                await ReleaseAsync().ConfigureAwait(false);
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        }

        private void StopRenewing()
        {
            try
            {
                stop.Cancel();
            }
            catch (AggregateException)
            {
            }
            if (Volatile.Read(ref released) == 1) sessionEnded.Dispose();
        }

        private static TimeSpan Remaining(int ttlSeconds, long? renewAfterMs)
        {
            // The server's renew_after_ms is a third of the time the lease has left as it counts.
            var ttl = TimeSpan.FromSeconds(ttlSeconds);
            if (!renewAfterMs.HasValue || renewAfterMs.Value <= 0) return ttl;
            var left = TimeSpan.FromMilliseconds(renewAfterMs.Value * 3);
            return left < ttl ? left : ttl;
        }

        private async Task RenewNowAsync(int ttlSeconds, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var sent = clock.Elapsed;
            var res = await client.CallAsync(ct => client.RenewLockAsync(Name, new RenewRequest { LeaseId = LeaseId, TtlSeconds = ttlSeconds }, ct),
                timeout, cancellationToken).ConfigureAwait(false);
            lock (gate)
            {
                if (res.ExpiresAt > expiresAt) expiresAt = res.ExpiresAt;
                renewAfterMs = res.RenewAfterMs;
                var until = sent + Remaining(ttlSeconds, res.RenewAfterMs);
                if (until > deadline) deadline = until;
            }
        }

        private void MarkLost(Exception reason)
        {
            lock (gate)
            {
                if (lostReason != null) return;
                lostReason = reason;
            }
            isLost = true;
            StopRenewing();
            client.Forget(this);
            // Callbacks on Lost run elsewhere: one that disposes the lease (or a using block whose
            // continuation runs synchronously on cancellation) must not run inside the renewer.
            ThreadPool.QueueUserWorkItem(_ =>
            {
                try
                {
                    lost.Cancel();
                }
                catch (AggregateException)
                {
                }
            });
        }

        private TimeSpan Left()
        {
            lock (gate) return deadline - clock.Elapsed;
        }

        private TimeSpan RenewDelay()
        {
            var ms = RenewAfterMs;
            var delay = ms.HasValue ? TimeSpan.FromMilliseconds(ms.Value) : TimeSpan.FromSeconds(TtlSeconds / 3.0);
            return delay < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : delay;
        }

        private static bool Transient(Exception e)
        {
            var api = e as ApiException;
            if (api != null) return api.StatusCode == 429 || api.StatusCode >= 500 || api.Problem == null;
            return e is HttpRequestException || e is OperationCanceledException;
        }

        private async Task RenewLoopAsync()
        {
            var delay = RenewDelay();
            while (true)
            {
                var left = Left();
                if (left <= TimeSpan.Zero)
                {
                    MarkLost(new TimeoutException("lease '" + LeaseId + "' ran out before a renewal got through"));
                    return;
                }
                if (delay > left) delay = left;
                try
                {
                    await Task.Delay(delay, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                left = Left();
                if (left <= TimeSpan.Zero) continue;
                try
                {
                    // Bounded by what is left of the lease: a stalled server cannot delay the loss signal.
                    var bound = left < client.RequestTimeout ? left : client.RequestTimeout;
                    await RenewNowAsync(TtlSeconds, bound, stop.Token).ConfigureAwait(false);
                    delay = RenewDelay();
                }
                catch (Exception e) when (!stop.IsCancellationRequested && Transient(e))
                {
                    left = Left();
                    if (left <= TimeSpan.Zero)
                    {
                        MarkLost(e);
                        return;
                    }
                    delay = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, Math.Max(TimeSpan.FromMilliseconds(20).Ticks, left.Ticks / 2)));
                }
                catch (Exception e)
                {
                    if (!stop.IsCancellationRequested) MarkLost(e);
                    return;
                }
            }
        }
    }
}
