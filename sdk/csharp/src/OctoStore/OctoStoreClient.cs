using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace OctoStore
{
    /// <summary>
    /// The helpers on top of the generated operations: locks as leases that renew themselves,
    /// and elections.
    /// </summary>
    /// <example>
    /// <code>
    /// using (var client = new OctoStoreClient("http://127.0.0.1:3000", token))
    /// using (var lease = await client.LockAsync("nightly-report"))
    /// {
    ///     await storage.WriteAsync(report, lease.FencingToken, lease.Lost);
    /// }
    /// </code>
    /// </example>
    public partial class OctoStoreClient
    {
        /// <summary>Longest wait the server accepts for one blocking request.</summary>
        public const int MaxWaitSeconds = 60;

        private static readonly TimeSpan DefaultRetry = TimeSpan.FromMilliseconds(250);

        /// <summary>
        /// This process's name among holders sharing the token (a host or pod name), sent with
        /// every acquire; each owner is a distinct holder. Null: the token alone is the holder.
        /// </summary>
        public string Owner { get; set; }

        /// <summary>
        /// Takes the lock if it is free (one attempt). The lease renews itself in the background
        /// unless <paramref name="autoRenew"/> is false. Taking a lock this holder already holds
        /// returns the same lease and fencing token.
        /// </summary>
        /// <exception cref="LockHeldException">Someone else holds the lock.</exception>
        /// <exception cref="ApiException">The server refused the request.</exception>
        public async Task<Lease> TryLockAsync(string name, int ttlSeconds = 30, string metadata = null, bool autoRenew = true,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            var started = Stopwatch.StartNew();
            var res = await AcquireLockAsync(name, Body(ttlSeconds, 0, metadata), cancellationToken).ConfigureAwait(false);
            if (res.Status == AcquireResultStatus.Acquired) return new Lease(this, name, ttlSeconds, metadata, res, started, autoRenew);
            throw new LockHeldException(name, res.HolderId, res.ExpiresAt, res.RetryAfterMs);
        }

        /// <summary>
        /// Waits in line for the lock, at most <paramref name="wait"/> in all (null: for ever;
        /// zero: one attempt), and returns the lease, which renews itself in the background
        /// until disposed. Dispose it (a <c>using</c> block) to release the lock.
        /// </summary>
        /// <exception cref="LockTimeoutException">The wait ended first.</exception>
        /// <exception cref="ApiException">The server refused the request.</exception>
        public async Task<Lease> LockAsync(string name, int ttlSeconds = 30, TimeSpan? wait = null, string metadata = null,
            bool autoRenew = true, CancellationToken cancellationToken = default(CancellationToken))
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var remaining = wait.HasValue ? wait.Value - clock.Elapsed : (TimeSpan?)null;
                var chunk = remaining.HasValue ? (int)Math.Max(0, Math.Min(MaxWaitSeconds, Math.Floor(remaining.Value.TotalSeconds))) : MaxWaitSeconds;
                var sent = Stopwatch.StartNew();
                var res = await AcquireLockAsync(name, Body(ttlSeconds, chunk, metadata), cancellationToken).ConfigureAwait(false);
                if (res.Status == AcquireResultStatus.Acquired) return new Lease(this, name, ttlSeconds, metadata, res, sent, autoRenew);
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
        /// Waits (at most <paramref name="waitSeconds"/>, up to 60) until the lock's revision
        /// exceeds <paramref name="index"/> and returns the state then; after the wait, the
        /// unchanged state. Pass the last revision you saw and no change is ever missed.
        /// </summary>
        public Task<LockStatus> WatchAsync(string name, long index, int waitSeconds = 30,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return GetLockAsync(name, index, waitSeconds, cancellationToken);
        }

        /// <summary>An election on the lock <paramref name="name"/>; the leader holds it with a <paramref name="ttlSeconds"/> lease.</summary>
        public Election Election(string name, int ttlSeconds = 15)
        {
            return new Election(this, name, ttlSeconds);
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
    }
}
