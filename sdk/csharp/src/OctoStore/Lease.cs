using System;
using System.Diagnostics;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace OctoStore
{
    /// <summary>
    /// A held lock. Unless created with autoRenew false it renews itself in the background at
    /// the server's <c>renew_after_ms</c> (a third of the TTL when the server sends none).
    /// Dispose it to stop renewing and release the lock.
    /// </summary>
    /// <remarks>
    /// A lease is not a guarantee: a process can stall past its TTL and still believe it holds
    /// the lock. Send <see cref="FencingToken"/> with every write to the resource you protect
    /// and have the resource refuse tokens smaller than the largest it has seen.
    /// <see cref="Lost"/> is cancelled when the lease ends without a release (a renewal was
    /// refused, or failed until the lease ran out): pass it to the work you do under the lock.
    /// </remarks>
    public sealed class Lease : IDisposable
    {
        private readonly OctoStoreClient client;
        private readonly object gate = new object();
        private readonly CancellationTokenSource stop = new CancellationTokenSource();
        private readonly CancellationTokenSource lost = new CancellationTokenSource();
        private readonly Stopwatch clock;
        private readonly Task renewer;
        private DateTimeOffset expiresAt;
        private long? renewAfterMs;
        private TimeSpan deadline; // on clock: the lease surely ends by then unless renewed
        private Exception lostReason;
        private int disposed;

        internal Lease(OctoStoreClient client, string name, int ttlSeconds, string metadata, AcquireResult result, Stopwatch sent, bool autoRenew)
        {
            this.client = client;
            Name = name;
            TtlSeconds = ttlSeconds;
            Metadata = metadata;
            LeaseId = result.LeaseId;
            FencingToken = result.FencingToken.GetValueOrDefault();
            expiresAt = result.ExpiresAt;
            renewAfterMs = result.RenewAfterMs;
            clock = sent;
            deadline = TimeSpan.FromSeconds(ttlSeconds);
            renewer = autoRenew ? Task.Run(() => RenewLoopAsync()) : null;
        }

        /// <summary>The lock's name.</summary>
        public string Name { get; private set; }

        /// <summary>The lease id (renew and release use it).</summary>
        public string LeaseId { get; private set; }

        /// <summary>The fencing token: strictly larger than every token issued before this grant.</summary>
        public long FencingToken { get; private set; }

        /// <summary>The TTL each renewal asks for.</summary>
        public int TtlSeconds { get; private set; }

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

        /// <summary>Cancelled when the lease is lost (it ended without a release).</summary>
        public CancellationToken Lost
        {
            get { return lost.Token; }
        }

        /// <summary>Whether the lease is lost.</summary>
        public bool IsLost
        {
            get { return lost.IsCancellationRequested; }
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
                await RenewNowAsync(ttlSeconds ?? TtlSeconds, cancellationToken).ConfigureAwait(false);
            }
            catch (ApiException e) when (e.Code == ProblemCode.LeaseNotCurrent)
            {
                MarkLost(e);
                throw;
            }
            return this;
        }

        /// <summary>Stops renewing and gives the lock back; returns the server's answer.</summary>
        /// <exception cref="ApiException">With code <c>lease_not_current</c> when the lease had already ended.</exception>
        public async Task<ReleaseResult> ReleaseAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            await StopRenewingAsync().ConfigureAwait(false);
            return await client.ReleaseLockAsync(Name, new ReleaseRequest { LeaseId = LeaseId }, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>
        /// Stops renewing and releases the lock. Never throws: a lease that had ended already
        /// needs no release, and one that cannot be released now runs out at its TTL. Call
        /// <see cref="ReleaseAsync"/> to see errors.
        /// </summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 1) return;
            try
            {
                ReleaseAsync().GetAwaiter().GetResult();
            }
            catch (ApiException)
            {
            }
            catch (HttpRequestException)
            {
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task StopRenewingAsync()
        {
            stop.Cancel();
            if (renewer == null) return;
            try
            {
                await renewer.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task RenewNowAsync(int ttlSeconds, CancellationToken cancellationToken)
        {
            var sent = clock.Elapsed;
            var res = await client.RenewLockAsync(Name, new RenewRequest { LeaseId = LeaseId, TtlSeconds = ttlSeconds }, cancellationToken).ConfigureAwait(false);
            lock (gate)
            {
                if (res.ExpiresAt > expiresAt) expiresAt = res.ExpiresAt;
                renewAfterMs = res.RenewAfterMs;
                var until = sent + TimeSpan.FromSeconds(ttlSeconds);
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
            stop.Cancel();
            lost.Cancel();
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
                try
                {
                    await Task.Delay(delay, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                try
                {
                    await RenewNowAsync(TtlSeconds, stop.Token).ConfigureAwait(false);
                    delay = RenewDelay();
                }
                catch (Exception e) when (!stop.IsCancellationRequested && Transient(e))
                {
                    TimeSpan left;
                    lock (gate) left = deadline - clock.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        MarkLost(e);
                        return;
                    }
                    delay = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, left.Ticks / 2));
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
