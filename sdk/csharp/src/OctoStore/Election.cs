using System;
using System.Threading;
using System.Threading.Tasks;

namespace OctoStore
{
    /// <summary>The current leader of an <see cref="Election"/>: its published value and its lease's fencing token.</summary>
    public sealed class Leader
    {
        /// <summary>Creates a leader view.</summary>
        public Leader(string value, string holderId, long? fencingToken, long revision)
        {
            Value = value;
            HolderId = holderId;
            FencingToken = fencingToken;
            Revision = revision;
        }

        /// <summary>The value the leader published (its address, say).</summary>
        public string Value { get; private set; }

        /// <summary>Who leads.</summary>
        public string HolderId { get; private set; }

        /// <summary>The leadership lease's fencing token.</summary>
        public long? FencingToken { get; private set; }

        /// <summary>The lock's revision when this was read.</summary>
        public long Revision { get; private set; }

        /// <summary>The election's view of a lock state: null when nobody leads (free, or kept only by a lock-delay, with no holder).</summary>
        public static Leader From(LockStatus status)
        {
            if (status.Status != LockStatusStatus.Held || status.HolderId == null || !status.FencingToken.HasValue) return null;
            return new Leader(status.Metadata, status.HolderId, status.FencingToken, status.Revision);
        }
    }

    /// <summary>
    /// Leader election on one lock, modelled on etcd's <c>concurrency.Election</c>. The leader
    /// holds the lock and publishes a value as the lock's metadata; everyone else can read it
    /// (<see cref="LeaderAsync"/>) or follow it (<see cref="ObserveAsync"/>). Leadership renews
    /// itself until <see cref="ResignAsync"/>; the lease's <see cref="OctoStore.Lease.Lost"/>
    /// tells the leader it was deposed.
    /// </summary>
    public sealed class Election
    {
        private readonly OctoStoreClient client;

        /// <summary>Creates an election on the lock <paramref name="name"/>.</summary>
        public Election(OctoStoreClient client, string name, int ttlSeconds = OctoStoreClient.DefaultElectionTtlSeconds)
        {
            if (client == null) throw new ArgumentNullException("client");
            this.client = client;
            Name = name;
            TtlSeconds = ttlSeconds;
        }

        /// <summary>The election's lock.</summary>
        public string Name { get; private set; }

        /// <summary>The leadership lease's TTL.</summary>
        public int TtlSeconds { get; private set; }

        /// <summary>The leadership lease while this process leads, else null.</summary>
        public Lease Lease { get; private set; }

        /// <summary>Waits (at most <paramref name="wait"/>; null: for ever) to become leader with <paramref name="value"/>.</summary>
        /// <exception cref="LockTimeoutException">The wait ended first.</exception>
        public async Task<Lease> CampaignAsync(string value, TimeSpan? wait = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            var lease = await client.LockAsync(Name, TtlSeconds, wait, value, true, null, cancellationToken).ConfigureAwait(false);
            Lease = lease;
            return lease;
        }

        /// <summary>The current leader, or null.</summary>
        public async Task<Leader> LeaderAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            return Leader.From(await client.StatusAsync(Name, cancellationToken).ConfigureAwait(false));
        }

        /// <summary>
        /// Calls <paramref name="onLeader"/> with the current leader (null: none), then with each
        /// change of leader or value, until it returns false (then this returns) or
        /// <paramref name="cancellationToken"/> is cancelled (then it throws
        /// OperationCanceledException). Built on watch: no change between two calls is missed,
        /// though several may arrive as one.
        /// </summary>
        public async Task ObserveAsync(Func<Leader, bool> onLeader, CancellationToken cancellationToken = default(CancellationToken), int pollWaitSeconds = 30)
        {
            var state = await client.StatusAsync(Name, cancellationToken).ConfigureAwait(false);
            var last = Key(state);
            if (!onLeader(Leader.From(state))) return;
            var index = state.Revision;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var started = DateTime.UtcNow;
                state = await client.WatchAsync(Name, index, pollWaitSeconds, cancellationToken).ConfigureAwait(false);
                if (state.Revision <= index && (DateTime.UtcNow - started).TotalSeconds < pollWaitSeconds * 0.9)
                {
                    // A server without watch answers at once: poll gently instead of spinning.
                    await Task.Delay(250, cancellationToken).ConfigureAwait(false);
                }
                index = Math.Max(index, state.Revision);
                var key = Key(state);
                if (key == last) continue;
                last = key;
                if (!onLeader(Leader.From(state))) return;
            }
        }

        /// <summary>Gives up leadership (releases the lock) if this election holds it.</summary>
        public async Task ResignAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            var lease = Lease;
            Lease = null;
            if (lease == null) return;
            try
            {
                await lease.ReleaseAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ApiException e) when (e.Code == ProblemCode.LeaseNotCurrent)
            {
                // It ended already: nothing to give up.
            }
        }

        private static string Key(LockStatus s)
        {
            // Free and kept only by a lock-delay are both "nobody leads": one change, not two.
            if (Leader.From(s) == null) return "none";
            return s.Status + "|" + (s.FencingToken.HasValue ? s.FencingToken.Value.ToString() : "") + "|" + (s.Metadata == null ? "\u0000" : s.Metadata);
        }
    }
}
