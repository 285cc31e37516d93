using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace OctoStore
{
    /// <summary>
    /// One answer of a prefix watch (<see cref="OctoStoreClient.WatchPrefixAsync"/>): the locks
    /// under the prefix that changed past the index sent, by name (a released or expired one is
    /// <c>free</c>), and the index the next request starts from.
    /// </summary>
    public sealed class PrefixChanges
    {
        /// <summary>Creates an answer.</summary>
        public PrefixChanges(long index, IReadOnlyList<LockStatus> changes, bool complete)
        {
            Index = index;
            Changes = changes ?? new List<LockStatus>().AsReadOnly();
            Complete = complete;
        }

        /// <summary>The index of this answer: every change it reports is at or below it.</summary>
        public long Index { get; private set; }

        /// <summary>The locks that changed, each as it is now, in the server's order.</summary>
        public IReadOnlyList<LockStatus> Changes { get; private set; }

        /// <summary>
        /// False when the server no longer remembered every lock freed since the index sent:
        /// <see cref="Changes"/> then holds every held lock under the prefix, and any other lock
        /// the caller knew of is free.
        /// </summary>
        public bool Complete { get; private set; }
    }

    /// <summary>The stream <see cref="OctoStoreClient.WatchPrefixAsync"/> returns: each enumeration runs its own long-polls.</summary>
    internal sealed class PrefixWatch : IAsyncEnumerable<PrefixChanges>
    {
        private readonly OctoStoreClient client;
        private readonly string prefix;
        private readonly long index;
        private readonly CancellationToken cancellationToken;

        internal PrefixWatch(OctoStoreClient client, string prefix, long index, CancellationToken cancellationToken)
        {
            this.client = client;
            this.prefix = prefix;
            this.index = index;
            this.cancellationToken = cancellationToken;
        }

        public IAsyncEnumerator<PrefixChanges> GetAsyncEnumerator(CancellationToken cancellationToken = default(CancellationToken))
        {
            return new Enumerator(client, prefix, index, this.cancellationToken, cancellationToken);
        }

        private sealed class Enumerator : IAsyncEnumerator<PrefixChanges>
        {
            private static readonly TimeSpan Gentle = TimeSpan.FromMilliseconds(250);
            private readonly OctoStoreClient client;
            private readonly string prefix;
            private readonly CancellationTokenSource cancel;
            private long index;

            internal Enumerator(OctoStoreClient client, string prefix, long index, CancellationToken a, CancellationToken b)
            {
                this.client = client;
                this.prefix = prefix;
                this.index = index;
                cancel = CancellationTokenSource.CreateLinkedTokenSource(a, b);
            }

            public PrefixChanges Current { get; private set; }

            public ValueTask<bool> MoveNextAsync()
            {
                return new ValueTask<bool>(NextAsync());
            }

            public ValueTask DisposeAsync()
            {
                cancel.Dispose();
                return default(ValueTask);
            }

            private async Task<bool> NextAsync()
            {
                var token = cancel.Token;
                var wait = OctoStoreClient.MaxWaitSeconds;
                while (true)
                {
                    token.ThrowIfCancellationRequested();
                    var started = Stopwatch.StartNew();
                    LockList answer;
                    try
                    {
                        var from = index;
                        answer = await client.CallAsync(ct => client.ListLocksAsync(prefix: prefix, index: from, waitSeconds: wait, cancellationToken: ct),
                            client.RequestTimeout + TimeSpan.FromSeconds(wait), token).ConfigureAwait(false);
                    }
                    catch (ApiException e) when (e.StatusCode == 429 || e.StatusCode == 503)
                    {
                        var retry = e.RetryAfter ?? TimeSpan.FromSeconds(1);
                        await Task.Delay(retry < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : retry, token).ConfigureAwait(false);
                        continue;
                    }
                    if (!answer.Index.HasValue) throw new InvalidOperationException("the server's prefix watch answer has no index");
                    var got = new PrefixChanges(answer.Index.Value, answer.Changes == null ? null : answer.Changes.AsReadOnly(), answer.Complete ?? true);
                    if (got.Index > index) index = got.Index;
                    if (got.Changes.Count > 0 || !got.Complete)
                    {
                        Current = got;
                        return true;
                    }
                    if (started.Elapsed < TimeSpan.FromSeconds(wait * 0.9))
                    {
                        // An empty answer long before the wait was over (a server that does not
                        // hold the request): poll gently instead of spinning.
                        await Task.Delay(Gentle, token).ConfigureAwait(false);
                    }
                }
            }
        }
    }
}
