using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace OctoStore
{
    /// <summary>Where a <see cref="Session"/> is in its life.</summary>
    public enum SessionState
    {
        /// <summary>Kept alive in the background.</summary>
        Alive,

        /// <summary>Ended without <see cref="Session.CloseAsync"/>: the server no longer knows it, or no renewal got through in time.</summary>
        Lost,

        /// <summary>Deleted on the server by <see cref="Session.CloseAsync"/>; its locks were released.</summary>
        Closed,

        /// <summary>No longer kept alive (<see cref="Session.Orphan"/>, or a close that could not reach the server): the server ends it one TTL after its last renewal.</summary>
        Orphaned,
    }

    /// <summary>
    /// A lease on this process's liveness that many locks share, modelled on etcd's
    /// <c>concurrency.Session</c>. <see cref="OctoStoreClient.OpenSessionAsync"/> creates it and a
    /// background task renews it every <c>renew_after_ms</c>; locks taken through it
    /// (<see cref="LockAsync"/>, <see cref="SemaphoreAsync"/> and their try forms) have no TTL of
    /// their own and are not renewed on their own: they end when the session does.
    /// <see cref="CloseAsync"/> (or <c>DisposeAsync</c>, <c>Dispose</c>) deletes the session, which
    /// releases every lock bound to it at once; a process that dies stops renewing, and the
    /// server ends the session and its locks one TTL later (their lock-delays apply then).
    /// </summary>
    /// <remarks>
    /// <see cref="Lost"/> is the loss signal, cancelled when the session ends without a close:
    /// the server no longer knows it (heard by a renewal, or by an acquire through the session,
    /// which then throws <see cref="SessionLostException"/>), or no renewal succeeded before it
    /// would have expired (a stalled or unreachable server makes it fire then, not after an HTTP
    /// timeout). Closing is not a loss. Every lease bound to the session is lost when the session ends in any way.
    /// As with any lease, a stalled process learns of the loss only when it runs again: send
    /// the locks' fencing tokens to what they protect.
    /// </remarks>
    public sealed class Session : IAsyncDisposable, IDisposable
    {
        private readonly OctoStoreClient client;
        private readonly object gate = new object();
        private readonly CancellationTokenSource stop = new CancellationTokenSource();
        private readonly CancellationTokenSource lost = new CancellationTokenSource();
        private readonly CancellationTokenSource ended = new CancellationTokenSource();
        private readonly Stopwatch clock; // started before the create request was sent
        private readonly Task keepAlive;
        private DateTimeOffset expiresAt;
        private long renewAfterMs;
        private TimeSpan deadline; // on clock: the server surely keeps the session until then
        private Exception lostReason;
        private Exception lastError; // of the latest failed renewal
        private int state; // a SessionState
        private int closed;

        private Session(OctoStoreClient client, SessionResult created, Stopwatch clock)
        {
            this.client = client;
            this.clock = clock;
            Id = created.SessionId;
            TtlSeconds = created.TtlSeconds;
            Record(TimeSpan.Zero, created.ExpiresAt, created.RenewAfterMs);
            keepAlive = Task.Run(() => KeepAliveAsync());
        }

        internal static async Task<Session> OpenAsync(OctoStoreClient client, int ttlSeconds, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            var res = await client.CallAsync(ct => client.CreateSessionAsync(new CreateSessionRequest { TtlSeconds = ttlSeconds }, ct),
                client.RequestTimeout, cancellationToken).ConfigureAwait(false);
            return new Session(client, res, clock);
        }

        /// <summary>The session's id (<c>ses_…</c>), for acquires made without this helper (<c>session_id</c>).</summary>
        public string Id { get; private set; }

        /// <summary>The session's TTL in seconds: how long the server keeps it, and its locks, after the last renewal.</summary>
        public int TtlSeconds { get; private set; }

        /// <summary>When the server ends the session unless it is renewed, as of the latest renewal.</summary>
        public DateTimeOffset ExpiresAt
        {
            get { lock (gate) return expiresAt; }
        }

        /// <summary>The server's latest hint for the next renewal, in milliseconds.</summary>
        public long RenewAfterMs
        {
            get { lock (gate) return renewAfterMs; }
        }

        /// <summary>
        /// Cancelled when the session is lost (not when it is closed or orphaned). Its callbacks
        /// run on a thread pool thread, never inside the keep-alive, so they may close the session.
        /// </summary>
        public CancellationToken Lost
        {
            get { return lost.Token; }
        }

        /// <summary>Whether the session is lost.</summary>
        public bool IsLost
        {
            get { return State == SessionState.Lost; }
        }

        /// <summary>Why the session was lost (the server's <c>session_not_found</c>, or the last failed renewal), or null.</summary>
        public Exception LostReason
        {
            get { lock (gate) return lostReason; }
        }

        /// <summary>Where the session is in its life.</summary>
        public SessionState State
        {
            get { return (SessionState)Volatile.Read(ref state); }
        }

        /// <summary>Cancelled when the session ends in any way (lost, closed or orphaned); bound leases listen to it.</summary>
        internal CancellationToken Ended
        {
            get { return ended.Token; }
        }

        /// <summary>
        /// Takes the lock through the session if it is free (one attempt) and returns the attempt:
        /// its lease, bound to the session, or who holds the lock. Never throws because the lock is held.
        /// </summary>
        /// <exception cref="SessionLostException">The session is lost, or the server answered that it no
        /// longer knows it (<c>session_not_found</c>, 404: the session is lost from then on).</exception>
        /// <exception cref="ObjectDisposedException">The session was closed or orphaned.</exception>
        /// <exception cref="ApiException">The server refused the request.</exception>
        public Task<LockAttempt> TryAcquireAsync(string name, string metadata = null, TimeSpan? lockDelay = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return client.TryAcquireCoreAsync(Spec(name, null, metadata, lockDelay), cancellationToken);
        }

        /// <summary>Takes the lock through the session if it is free (one attempt): the lease, or null when someone else holds it.</summary>
        /// <exception cref="SessionLostException">The session is lost.</exception>
        public async Task<Lease> TryLockAsync(string name, string metadata = null, TimeSpan? lockDelay = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return (await TryAcquireAsync(name, metadata, lockDelay, cancellationToken).ConfigureAwait(false)).Lease;
        }

        /// <summary>
        /// Waits in line for the lock, at most <paramref name="wait"/> in all (null: for ever; zero:
        /// one attempt), and returns the lease, bound to the session: it lives as long as the
        /// session and is not renewed on its own. Dispose it to release the lock.
        /// </summary>
        /// <exception cref="LockTimeoutException">The wait ended first.</exception>
        /// <exception cref="SessionLostException">The session is lost.</exception>
        public Task<Lease> LockAsync(string name, TimeSpan? wait = null, string metadata = null, TimeSpan? lockDelay = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return client.LockCoreAsync(Spec(name, null, metadata, lockDelay), wait, cancellationToken);
        }

        /// <summary>One attempt at one of the <paramref name="maxHolders"/> places of a semaphore, bound to the session; see <see cref="OctoStoreClient.TryAcquireSemaphoreAsync"/>.</summary>
        /// <exception cref="SessionLostException">The session is lost.</exception>
        public Task<LockAttempt> TryAcquireSemaphoreAsync(string name, int maxHolders, string metadata = null, TimeSpan? lockDelay = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return client.TryAcquireCoreAsync(Spec(name, maxHolders, metadata, lockDelay), cancellationToken);
        }

        /// <summary>One attempt at a place of a semaphore, bound to the session: the lease, or null when all places are taken.</summary>
        /// <exception cref="SessionLostException">The session is lost.</exception>
        public async Task<Lease> TrySemaphoreAsync(string name, int maxHolders, string metadata = null, TimeSpan? lockDelay = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return (await TryAcquireSemaphoreAsync(name, maxHolders, metadata, lockDelay, cancellationToken).ConfigureAwait(false)).Lease;
        }

        /// <summary>Waits for one of the <paramref name="maxHolders"/> places of a semaphore (at most <paramref name="wait"/>), bound to the session; see <see cref="LockAsync"/>.</summary>
        /// <exception cref="LockTimeoutException">The wait ended first.</exception>
        /// <exception cref="SessionLostException">The session is lost.</exception>
        public Task<Lease> SemaphoreAsync(string name, int maxHolders, TimeSpan? wait = null, string metadata = null, TimeSpan? lockDelay = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            return client.LockCoreAsync(Spec(name, maxHolders, metadata, lockDelay), wait, cancellationToken);
        }

        /// <summary>
        /// Stops the keep-alive and deletes the session on the server, which releases every lock
        /// bound to it at once (no lock-delay). Also after a loss or <see cref="Orphan"/> it asks
        /// the server (one that no longer knows the session is fine); after an earlier successful
        /// close it does nothing. When the server cannot be reached the session is left to
        /// expire, as after <see cref="Orphan"/>, and the error comes out; calling again retries.
        /// </summary>
        /// <exception cref="ApiException">The server refused the delete.</exception>
        /// <exception cref="TransportException">No server could be reached.</exception>
        public async Task CloseAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            if (Volatile.Read(ref closed) == 1) return;
            StopKeepAlive();
            await keepAlive.ConfigureAwait(false);
            try
            {
                await client.CallAsync(async ct =>
                {
                    await client.DeleteSessionAsync(Id, ct).ConfigureAwait(false);
                    return true;
                }, client.RequestTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (ApiException e) when (e.Code == ProblemCode.SessionNotFound)
            {
                // Gone already: what closing was for.
            }
            catch (Exception)
            {
                End(SessionState.Orphaned, null);
                throw;
            }
            Volatile.Write(ref closed, 1);
            End(SessionState.Closed, null);
            client.Forget(this);
        }

        /// <summary>
        /// Stops the keep-alive without deleting the session, as etcd's <c>Session.Orphan</c> does:
        /// the server ends the session, and every lock bound to it, one TTL after its last
        /// renewal, and their lock-delays apply then. It is what a process that dies does; use it
        /// to hand the session's end to the server. <see cref="Lost"/> does not fire; the bound
        /// leases count as lost at once (nothing keeps them alive any more).
        /// </summary>
        public void Orphan()
        {
            StopKeepAlive();
            End(SessionState.Orphaned, null);
            client.Forget(this);
        }

        /// <summary>
        /// Closes the session (<see cref="CloseAsync"/>) without throwing, bounded by the client's
        /// <see cref="OctoStoreClient.RequestTimeout"/>: a session that cannot be deleted now ends
        /// at its TTL. For <c>await using</c>.
        /// </summary>
        public ValueTask DisposeAsync()
        {
            return new ValueTask(CloseQuietlyAsync());
        }

        /// <summary>Closes the session as <see cref="DisposeAsync"/> does, blocking the caller at most <see cref="OctoStoreClient.RequestTimeout"/> and a second.</summary>
        public void Dispose()
        {
            if (Volatile.Read(ref closed) == 1) return;
            var close = Task.Run(() => CloseQuietlyAsync());
            close.Wait(client.RequestTimeout + TimeSpan.FromSeconds(1));
        }

        private async Task CloseQuietlyAsync()
        {
            try
            {
                await CloseAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Trace.TraceWarning("OctoStore: closing a session: {0}", e.Message);
            }
        }

        /// <summary>Throws unless locks may be taken through the session.</summary>
        internal void EnsureUsable()
        {
            switch (State)
            {
                case SessionState.Lost:
                    throw new SessionLostException(Id, LostReason);
                case SessionState.Closed:
                    throw new ObjectDisposedException("Session", "session '" + Id + "' is closed");
                case SessionState.Orphaned:
                    throw new ObjectDisposedException("Session", "session '" + Id + "' is orphaned: nothing keeps it alive");
            }
        }

        /// <summary>An acquire through the session was answered <c>session_not_found</c>.</summary>
        internal void Forgotten(ApiException e)
        {
            End(SessionState.Lost, e);
        }

        /// <summary>Why a lease bound to the session ended with it.</summary>
        internal Exception EndReason()
        {
            switch (State)
            {
                case SessionState.Lost:
                    return new SessionLostException(Id, LostReason);
                case SessionState.Closed:
                    return new InvalidOperationException("its session '" + Id + "' was closed");
                default:
                    return new InvalidOperationException("its session '" + Id + "' was orphaned");
            }
        }

        private AcquireSpec Spec(string name, int? maxHolders, string metadata, TimeSpan? lockDelay)
        {
            if (maxHolders.HasValue) OctoStoreClient.CheckMaxHolders(maxHolders.Value);
            return new AcquireSpec
            {
                Name = name,
                TtlSeconds = TtlSeconds,
                Metadata = metadata,
                AutoRenew = false,
                LockDelaySeconds = OctoStoreClient.DelaySeconds(lockDelay),
                MaxHolders = maxHolders,
                Session = this,
            };
        }

        private void StopKeepAlive()
        {
            try
            {
                stop.Cancel();
            }
            catch (AggregateException)
            {
            }
        }

        /// <summary>Moves to <paramref name="to"/> if still alive; tells the bound leases, and on a loss the <see cref="Lost"/> listeners.</summary>
        private void End(SessionState to, Exception reason)
        {
            lock (gate)
            {
                if (state != (int)SessionState.Alive) return;
                if (to == SessionState.Lost) lostReason = reason;
                Volatile.Write(ref state, (int)to);
            }
            StopKeepAlive();
            // Listeners run elsewhere: one that closes the session must not run inside the keep-alive.
            ThreadPool.QueueUserWorkItem(_ =>
            {
                try
                {
                    ended.Cancel();
                    if (to == SessionState.Lost) lost.Cancel();
                }
                catch (AggregateException)
                {
                }
            });
        }

        /// <summary>Takes in a create or renewal answered after <paramref name="sent"/> (on the clock); estimates only move later.</summary>
        private void Record(TimeSpan sent, DateTimeOffset answerExpiresAt, long answerRenewAfterMs)
        {
            // renew_after_ms is a third of what the server had left when it answered, after the send.
            var left = answerRenewAfterMs > 0 ? TimeSpan.FromMilliseconds(answerRenewAfterMs * 3) : TimeSpan.FromSeconds(TtlSeconds);
            lock (gate)
            {
                if (sent + left > deadline) deadline = sent + left;
                if (answerExpiresAt > expiresAt) expiresAt = answerExpiresAt;
                renewAfterMs = answerRenewAfterMs;
            }
        }

        private TimeSpan Left()
        {
            lock (gate) return deadline - clock.Elapsed;
        }

        private TimeSpan RenewDelay()
        {
            var ms = RenewAfterMs;
            var delay = ms > 0 ? TimeSpan.FromMilliseconds(ms) : TimeSpan.FromSeconds(TtlSeconds / 3.0);
            return delay < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : delay;
        }

        /// <summary>
        /// Renews at the server's <c>renew_after_ms</c>, sooner after a failure. The session is lost
        /// when the server no longer knows it or the local deadline, never later than the
        /// server's, passes without a renewal; each renewal is bounded by what is left.
        /// </summary>
        private async Task KeepAliveAsync()
        {
            var delay = RenewDelay();
            while (true)
            {
                var left = Left();
                if (left <= TimeSpan.Zero)
                {
                    Exception last;
                    lock (gate) last = lastError;
                    var why = "session '" + Id + "': no renewal succeeded before it would have expired";
                    End(SessionState.Lost, last == null ? new TimeoutException(why) : new TimeoutException(why + " (last: " + last.Message + ")", last));
                    return;
                }
                try
                {
                    await Task.Delay(delay < left ? delay : left, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                left = Left();
                if (left <= TimeSpan.Zero) continue;
                var sent = clock.Elapsed;
                try
                {
                    var bound = left < client.RequestTimeout ? left : client.RequestTimeout;
                    var res = await client.CallAsync(ct => client.RenewSessionAsync(Id, ct), bound, stop.Token).ConfigureAwait(false);
                    Record(sent, res.ExpiresAt, res.RenewAfterMs);
                    delay = RenewDelay();
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (ApiException e) when (e.Code == ProblemCode.SessionNotFound)
                {
                    End(SessionState.Lost, e);
                    return;
                }
                catch (Exception e)
                {
                    // Try again soon, a few times before the deadline; the loop ends it at the deadline.
                    lock (gate) lastError = e;
                    left = Left();
                    var retry = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(10).Ticks, Math.Min(TimeSpan.FromSeconds(1).Ticks, left.Ticks / 3)));
                    var api = e as ApiException;
                    if (api != null && api.RetryAfter.HasValue && api.RetryAfter.Value < retry) retry = api.RetryAfter.Value;
                    delay = retry;
                }
            }
        }
    }
}
