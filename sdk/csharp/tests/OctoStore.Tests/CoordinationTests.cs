using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace OctoStore.Tests
{
    /// <summary>
    /// The issue-16 helpers beyond the shared scenarios: sessions (and their loss signal under
    /// faults), semaphores, lock-delay and prefix watches, against a live octostore-lock.
    /// </summary>
    [TestFixture]
    public sealed class CoordinationTests
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
        private Server server;
        private string token;
        private OctoStoreClient client;
        private OctoStoreClient other;
        private readonly List<IDisposable> cleanup = new List<IDisposable>();

        [SetUp]
        public void SetUp()
        {
            server = Server.For(new Dictionary<string, string>());
            var body = new JsonObject();
            body["name"] = "coord-" + Guid.NewGuid().ToString("N").Substring(0, 12);
            var issued = server.AdminPost("/admin/accounts", body);
            token = (string)issued["token"];
            client = new OctoStoreClient(server.BaseUrl, token);
            var second = server.AdminPost("/admin/accounts/" + issued["account_id"] + "/tokens", null);
            other = new OctoStoreClient(server.BaseUrl, (string)second["token"]);
        }

        [TearDown]
        public void TearDown()
        {
            client.ReleaseAll();
            other.ReleaseAll();
            foreach (var d in cleanup) d.Dispose();
            cleanup.Clear();
            client.Dispose();
            other.Dispose();
        }

        // --- sessions -----------------------------------------------------------------

        [Test]
        public async Task ASessionKeepsItsLocksPastItsTtlAndClosingReleasesThem()
        {
            var session = await client.OpenSessionAsync(1);
            StringAssert.IsMatch("^ses_[0-9a-f]{32}$", session.Id);
            Assert.AreEqual(1, session.TtlSeconds);
            var lease = await session.LockAsync("leader", TimeSpan.Zero);
            Assert.AreSame(session, lease.Session);
            // Two of the session's TTLs: only its keep-alive can have kept the lock.
            Assert.Throws<LockTimeoutException>(async () => await other.LockAsync("leader", 30, TimeSpan.FromSeconds(2)));
            Assert.AreEqual(lease.FencingToken, (await other.StatusAsync("leader")).FencingToken);

            await session.CloseAsync();
            Assert.AreEqual(SessionState.Closed, session.State);
            Assert.IsFalse(session.IsLost, "closing is not a loss");
            Assert.IsFalse(session.Lost.IsCancellationRequested);
            Assert.AreEqual(LockStatusStatus.Free, (await other.StatusAsync("leader")).Status);
            Assert.IsTrue(lease.Lost.WaitHandle.WaitOne(Patience), "a lease bound to a closed session still counts as held");
            lease.Dispose(); // returns at once: nothing to release
            await session.CloseAsync(); // a second close does nothing
            Assert.Throws<ObjectDisposedException>(async () => await session.TryLockAsync("leader"));
        }

        [Test]
        public async Task ASessionDeletedBehindTheHelpersBackFiresItsLossSignal()
        {
            var session = await client.OpenSessionAsync(2);
            var lease = await session.TryLockAsync("job");
            Assert.IsNotNull(lease);
            await client.DeleteSessionAsync(session.Id); // the generated call, not the helper

            Assert.IsTrue(session.Lost.WaitHandle.WaitOne(Patience), "Lost did not fire");
            Assert.AreEqual(SessionState.Lost, session.State);
            Assert.AreEqual(ProblemCode.SessionNotFound, ((ApiException)session.LostReason).Code);
            Assert.IsTrue(lease.Lost.WaitHandle.WaitOne(Patience), "the bound lease's Lost did not fire");
            Assert.IsInstanceOf<SessionLostException>(lease.LostReason);

            var e = Assert.Throws<SessionLostException>(async () => await session.TryLockAsync("job"));
            Assert.AreEqual(ProblemCode.SessionNotFound, e.Code);
            Assert.AreEqual(404, e.StatusCode);
            await session.CloseAsync(); // the server no longer knows it: nothing to report
            await session.DisposeAsync();
            Assert.AreEqual(SessionState.Lost, session.State);
        }

        [Test]
        public async Task AnUnreachableServerDuringTheKeepAliveEndsInALossAtTheDeadline()
        {
            var proxy = new Proxy(server.BaseUrl);
            cleanup.Add(proxy);
            var viaProxy = new OctoStoreClient(new[] { proxy.Url }, token);
            cleanup.Add(viaProxy);
            var session = await viaProxy.OpenSessionAsync(3);
            var lease = await session.TryLockAsync("job");
            Assert.IsNotNull(lease);

            var serverEnds = session.ExpiresAt; // the latest expiry the server promised
            var clock = Stopwatch.StartNew();
            proxy.Cut(); // from now on: connection refused
            Assert.IsTrue(session.Lost.WaitHandle.WaitOne(Patience), "Lost did not fire with the server unreachable");
            var after = clock.Elapsed;
            Assert.That(after, Is.GreaterThan(TimeSpan.FromSeconds(1)), "lost at the first failed renewal, not at the deadline");
            Assert.That(DateTimeOffset.UtcNow, Is.LessThan(serverEnds + TimeSpan.FromSeconds(1.5)), "lost after the server's own expiry");
            Assert.IsInstanceOf<TimeoutException>(session.LostReason);
            Assert.IsInstanceOf<TransportException>(session.LostReason.InnerException);
            Assert.IsTrue(lease.Lost.WaitHandle.WaitOne(Patience));
            var e = Assert.Throws<SessionLostException>(async () => await session.LockAsync("job", TimeSpan.Zero));
            Assert.AreEqual("session_lost", e.Code);
            Assert.IsNull(e.StatusCode);
            var dispose = session.DisposeAsync().AsTask(); // cannot reach the server: must not throw, and ends
            Assert.IsTrue(dispose.Wait(viaProxy.RequestTimeout + TimeSpan.FromSeconds(2)), "DisposeAsync did not return");
            // The server, for its part, ends the session and its lock at its TTL.
            await PollAsync(async () => (await other.StatusAsync("job")).Status == LockStatusStatus.Free, "the server did not end the session");
        }

        [Test]
        public async Task AStalledServerMakesTheLossFireAtTheDeadlineNotAfterAnHttpTimeout()
        {
            var stalled = Server.Dedicated(new Dictionary<string, string>());
            try
            {
                var body = new JsonObject();
                body["name"] = "stall-" + Guid.NewGuid().ToString("N").Substring(0, 12);
                var issued = stalled.AdminPost("/admin/accounts", body);
                using (var c = new OctoStoreClient(new[] { stalled.BaseUrl }, (string)issued["token"]))
                {
                    Assert.AreEqual(TimeSpan.FromSeconds(10), c.RequestTimeout);
                    var session = await c.OpenSessionAsync(2);
                    var clock = Stopwatch.StartNew();
                    stalled.Signal("STOP");
                    Assert.IsTrue(session.Lost.WaitHandle.WaitOne(Patience), "Lost did not fire with the server stalled");
                    Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(4)), "the renewal was not bounded by what was left of the session");
                    Assert.IsTrue(session.IsLost);
                    stalled.Signal("CONT");
                }
            }
            finally
            {
                stalled.Stop();
            }
        }

        [Test]
        public async Task OrphanStopsTheKeepAliveAndTheServerEndsTheSessionOneTtlLater()
        {
            var session = await client.OpenSessionAsync(3);
            var lease = await session.TryLockAsync("a", lockDelay: TimeSpan.FromSeconds(2));
            Assert.IsNotNull(lease);
            session.Orphan();
            Assert.AreEqual(SessionState.Orphaned, session.State);
            Assert.IsFalse(session.IsLost, "orphaning is not a loss");
            // Not deleted: the server still has the session (renewed at most a second ago) and its lock.
            var held = await other.StatusAsync("a");
            Assert.AreEqual(lease.FencingToken, held.FencingToken, "orphaning released the lock");
            Assert.IsNotNull(held.HolderId);
            Assert.IsTrue(lease.Lost.WaitHandle.WaitOne(Patience), "nothing keeps the bound lease alive any more");
            // The session expires on the server, and then a's lock-delay keeps it from everyone:
            // an expiry, not a release.
            await PollAsync(async () =>
            {
                var st = await other.StatusAsync("a");
                return st.Status == LockStatusStatus.Held && st.HolderId == null && st.AvailableAt.HasValue;
            }, "the orphaned session did not expire with a lock-delay");
            Assert.Throws<ObjectDisposedException>(async () => await session.TryLockAsync("b"));
            Assert.IsFalse(session.Lost.IsCancellationRequested);
        }

        [Test]
        public async Task ClosingTheClientsSessionsOnShutdownReleasesTheirLocks()
        {
            var session = await client.OpenSessionAsync(30);
            Assert.IsNotNull(await session.TryLockAsync("x"));
            Assert.IsNotNull(await session.TrySemaphoreAsync("pool", 2));
            client.ReleaseAll();
            Assert.AreEqual(SessionState.Closed, session.State);
            Assert.AreEqual(LockStatusStatus.Free, (await other.StatusAsync("x")).Status);
            Assert.AreEqual(LockStatusStatus.Free, (await other.StatusAsync("pool")).Status);
        }

        // --- semaphores -----------------------------------------------------------------

        [Test]
        public async Task ASemaphoreAdmitsNDistinctHoldersEachWithItsOwnLease()
        {
            using (var third = new OctoStoreClient(server.BaseUrl, token)) // same token, its own owner
            {
                var a = await client.TrySemaphoreAsync("pool", 2, 30);
                var b = await third.TrySemaphoreAsync("pool", 2, 30);
                Assert.IsNotNull(a);
                Assert.IsNotNull(b);
                Assert.AreEqual(2, a.MaxHolders);
                Assert.That(b.FencingToken, Is.GreaterThan(a.FencingToken));
                Assert.AreNotEqual(a.LeaseId, b.LeaseId);

                var full = await other.TryAcquireSemaphoreAsync("pool", 2, 30);
                Assert.IsFalse(full.Acquired, "a full semaphore is 'not acquired', not an exception");
                StringAssert.EndsWith("/" + client.Owner, full.HolderId, "the holder with the lowest token");
                Assert.IsNull(await other.TrySemaphoreAsync("pool", 2, 30));
                var e = Assert.Throws<ApiException>(async () => await other.TrySemaphoreAsync("pool", 3, 30));
                Assert.AreEqual(ProblemCode.MaxHoldersMismatch, e.Code);
                Assert.AreEqual(409, e.StatusCode);

                var status = await other.StatusAsync("pool");
                Assert.AreEqual(2, status.MaxHolders);
                Assert.AreEqual(2, status.Holders.Count);

                var waiter = other.SemaphoreAsync("pool", 2, 30, TimeSpan.FromSeconds(10));
                await a.ReleaseAsync();
                Assert.IsTrue(waiter.Wait(Patience), "the waiter did not get the freed place");
                Assert.That(waiter.Result.FencingToken, Is.GreaterThan(b.FencingToken));
                b.Dispose();
                waiter.Result.Dispose();
            }
            Assert.Throws<ArgumentOutOfRangeException>(async () => await client.TrySemaphoreAsync("pool", 0));
        }

        // --- lock-delay -------------------------------------------------------------------

        [Test]
        public async Task ALockDelayKeepsAnExpiredLockFromEveryoneAndTheAttemptSaysUntilWhen()
        {
            var lease = await client.TryLockAsync("printer", 1, autoRenew: false, lockDelay: TimeSpan.FromSeconds(2));
            Assert.IsNotNull(lease);
            LockStatus during = null;
            await PollAsync(async () =>
            {
                during = await other.StatusAsync("printer");
                return during.HolderId == null && during.AvailableAt.HasValue;
            }, "the expired lease started no lock-delay");
            Assert.AreEqual(LockStatusStatus.Held, during.Status);
            Assert.IsNull(Leader.From(during), "a lock kept only by a lock-delay has no leader");

            var attempt = await other.TryAcquireAsync("printer", 30);
            Assert.IsFalse(attempt.Acquired);
            Assert.IsNull(attempt.HolderId);
            Assert.IsTrue(attempt.AvailableAt.HasValue);
            Assert.That(attempt.RetryAfterMs, Is.LessThanOrEqualTo(2000));

            using (var next = await other.LockAsync("printer", 30, TimeSpan.FromSeconds(10)))
            {
                // Granted no earlier than the delay's end (one machine, one clock; the server rounds to ms).
                Assert.That(DateTimeOffset.UtcNow, Is.GreaterThanOrEqualTo(attempt.AvailableAt.Value - TimeSpan.FromMilliseconds(5)));
                Assert.That(next.FencingToken, Is.GreaterThan(lease.FencingToken));
            }
            Assert.Throws<ArgumentOutOfRangeException>(async () => await client.TryLockAsync("printer", lockDelay: TimeSpan.FromMilliseconds(1500)));
        }

        [Test]
        public async Task AReleaseStartsNoLockDelay()
        {
            var lease = await client.TryLockAsync("clean", 30, lockDelay: TimeSpan.FromSeconds(60));
            await lease.DisposeAsync();
            var next = await other.TryLockAsync("clean", 30);
            Assert.IsNotNull(next, "a release started a lock-delay");
            next.Dispose();
        }

        // --- prefix watch -----------------------------------------------------------------

        [Test]
        public async Task APrefixWatchStreamsEveryChangeUnderThePrefixAndNothingElse()
        {
            var index = await other.PrefixIndexAsync("jobs.");
            using (var stop = new CancellationTokenSource())
            {
                var answers = other.WatchPrefixAsync("jobs.", index, stop.Token).GetAsyncEnumerator();
                var first = answers.MoveNextAsync().AsTask();
                var a = await client.TryLockAsync("jobs.a", 30);
                Assert.IsTrue(first.Wait(Patience), "no answer after a change under the prefix");
                Assert.IsTrue(first.Result);
                Assert.AreEqual(new[] { "jobs.a:held" }, Names(answers.Current));
                Assert.That(answers.Current.Index, Is.GreaterThan(index));
                Assert.IsTrue(answers.Current.Complete);

                using (await client.TryLockAsync("other", 30))
                using (await client.TryLockAsync("jobs.b", 30))
                {
                    await a.ReleaseAsync();
                    // The stream came back with the first answer's index: both changes, and not "other".
                    var seen = new List<string>();
                    while (seen.Count < 2)
                    {
                        var next = answers.MoveNextAsync().AsTask();
                        Assert.IsTrue(next.Wait(Patience), "no answer for the second round of changes");
                        seen.AddRange(Names(answers.Current));
                    }
                    CollectionAssert.AreEquivalent(new[] { "jobs.a:free", "jobs.b:held" }, seen);

                    var quiet = answers.MoveNextAsync().AsTask();
                    stop.Cancel();
                    try
                    {
                        await quiet;
                        Assert.Fail("the stream answered without a change under the prefix");
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
                await answers.DisposeAsync();
            }
        }

        [Test]
        public async Task APrefixWatchFromIndexZeroStartsWithEveryLockUnderThePrefix()
        {
            using (await client.TryLockAsync("q.one", 30))
            using (var stop = new CancellationTokenSource(Patience))
            {
                var answers = other.WatchPrefixAsync("q.").GetAsyncEnumerator(stop.Token);
                Assert.IsTrue(await answers.MoveNextAsync());
                CollectionAssert.Contains(Names(answers.Current), "q.one:held");
                await answers.DisposeAsync();
            }
        }

        // --- helpers ----------------------------------------------------------------------

        private static string[] Names(PrefixChanges answer)
        {
            return answer.Changes.Select(c => c.Name + ":" + c.Status).ToArray();
        }

        /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds; fails after <see cref="Patience"/>.</summary>
        private static async Task PollAsync(Func<Task<bool>> condition, string failure)
        {
            var clock = Stopwatch.StartNew();
            while (!await condition())
            {
                if (clock.Elapsed > Patience) Assert.Fail(failure + " within " + Patience.TotalSeconds + " s");
                await Task.Delay(100);
            }
        }

        /// <summary>
        /// A loopback TCP forwarder to the server that can be cut: <see cref="Cut"/> closes every
        /// connection and the listening port, so the next request gets "connection refused".
        /// </summary>
        private sealed class Proxy : IDisposable
        {
            private readonly TcpListener listener = new TcpListener(IPAddress.Loopback, 0);
            private readonly IPEndPoint target;
            private readonly List<TcpClient> open = new List<TcpClient>();
            private int cut;

            public Proxy(string targetUrl)
            {
                var u = new Uri(targetUrl);
                target = new IPEndPoint(IPAddress.Parse(u.Host), u.Port);
                listener.Start();
                Url = "http://127.0.0.1:" + ((IPEndPoint)listener.LocalEndpoint).Port;
                Task.Run(() => AcceptAsync());
            }

            public string Url { get; private set; }

            public void Cut()
            {
                if (Interlocked.Exchange(ref cut, 1) == 1) return;
                listener.Stop();
                lock (open)
                {
                    foreach (var c in open) c.Close();
                    open.Clear();
                }
            }

            public void Dispose()
            {
                Cut();
            }

            private async Task AcceptAsync()
            {
                while (Volatile.Read(ref cut) == 0)
                {
                    TcpClient down;
                    try
                    {
                        down = await listener.AcceptTcpClientAsync().ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        return;
                    }
                    var up = new TcpClient();
                    try
                    {
                        await up.ConnectAsync(target.Address, target.Port).ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        down.Close();
                        continue;
                    }
                    lock (open)
                    {
                        if (Volatile.Read(ref cut) == 1)
                        {
                            down.Close();
                            up.Close();
                            return;
                        }
                        open.Add(down);
                        open.Add(up);
                    }
                    Pump(down, up);
                    Pump(up, down);
                }
            }

            private static void Pump(TcpClient from, TcpClient to)
            {
                Task.Run(async () =>
                {
                    try
                    {
                        await from.GetStream().CopyToAsync(to.GetStream()).ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                    }
                    from.Close();
                    to.Close();
                });
            }
        }
    }
}
