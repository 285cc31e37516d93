using System;
using System.Threading.Tasks;
using NUnit.Framework;

namespace OctoStore.Tests
{
    /// <summary>
    /// The helper's own promises beyond the shared scenarios (the using block, the Lost token,
    /// typed errors), against a live octostore-lock.
    /// </summary>
    [TestFixture]
    public sealed class HelpersTests
    {
        private OctoStoreClient client;
        private OctoStoreClient other;

        [SetUp]
        public void SetUp()
        {
            var server = Server.For(new System.Collections.Generic.Dictionary<string, string>());
            var body = new JsonObject();
            body["name"] = "helpers-" + Guid.NewGuid().ToString("N").Substring(0, 12);
            var issued = server.AdminPost("/admin/accounts", body);
            client = new OctoStoreClient(server.BaseUrl, (string)issued["token"]);
            var second = server.AdminPost("/admin/accounts/" + issued["account_id"] + "/tokens", null);
            other = new OctoStoreClient(server.BaseUrl, (string)second["token"]);
        }

        [TearDown]
        public void TearDown()
        {
            client.Dispose();
            other.Dispose();
        }

        [Test]
        public async Task UsingBlockHoldsTheLockAndReleasesIt()
        {
            using (var lease = await client.LockAsync("report", 30))
            {
                Assert.That(lease.FencingToken, Is.GreaterThanOrEqualTo(1));
                Assert.IsFalse(lease.Lost.IsCancellationRequested);
                Assert.IsNull(other.TryLockAsync("report").Result, "try-lock of a held lock is null, not an exception");
                var attempt = other.TryAcquireAsync("report").Result;
                Assert.IsFalse(attempt.Acquired);
                StringAssert.EndsWith("/" + client.Owner, attempt.HolderId);
            }
            Assert.AreEqual(LockStatusStatus.Free, (await client.GetLockAsync("report")).Status);
        }

        [Test]
        public async Task DisposeNeverThrowsEvenWhenTheLeaseEndedAlready()
        {
            var lease = await client.LockAsync("report", 30, TimeSpan.Zero, null, false);
            await client.ReleaseLockAsync("report", new ReleaseRequest { LeaseId = lease.LeaseId });
            lease.Dispose();
            lease.Dispose();
            Assert.AreEqual(LockStatusStatus.Free, (await client.GetLockAsync("report")).Status);
        }

        [Test]
        public async Task LostTokenFiresWhenTheServerNoLongerHasTheLease()
        {
            using (var lease = await client.LockAsync("job", 1, TimeSpan.Zero))
            {
                await client.ReleaseLockAsync("job", new ReleaseRequest { LeaseId = lease.LeaseId });
                Assert.IsTrue(lease.Lost.WaitHandle.WaitOne(TimeSpan.FromSeconds(10)), "Lost did not fire");
                Assert.IsTrue(lease.IsLost);
                Assert.AreEqual(ProblemCode.LeaseNotCurrent, ((ApiException)lease.LostReason).Code);
            }
        }

        [Test]
        public void DisposeInsideAUsingBlockAfterALossReturnsAtOnce()
        {
            // Issue 11: the README's own pattern, awaiting the Lost token inside using, deadlocked
            // (the continuation ran inside the renewer, and Dispose waited for the renewer).
            var lost = false;
            Func<Task> pattern = async () =>
            {
                using (var lease = await client.LockAsync("job", 2, TimeSpan.Zero))
                {
                    await client.ReleaseLockAsync("job", new ReleaseRequest { LeaseId = lease.LeaseId });
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(10), lease.Lost);
                    }
                    catch (TaskCanceledException)
                    {
                    }
                    lost = lease.IsLost;
                }
            };
            Assert.IsTrue(Task.Run(pattern).Wait(TimeSpan.FromSeconds(15)), "the using block did not end: Dispose deadlocked after the loss");
            Assert.IsTrue(lost);
        }

        [Test]
        public void DefaultOwnerIsUniqueAndOverridable()
        {
            StringAssert.IsMatch("^.+-[0-9]+-[0-9a-f]{8}$", client.Owner);
            Assert.AreNotEqual(client.Owner, other.Owner);
            client.Owner = "pod-7";
            Assert.AreEqual("pod-7", client.Owner);
            Assert.AreEqual(TimeSpan.FromSeconds(10), client.RequestTimeout);
        }

        [Test]
        public async Task LockTimesOutWhileAnotherHolds()
        {
            using (await other.LockAsync("report", 30))
            {
                var e = Assert.Throws<LockTimeoutException>(async () => await client.LockAsync("report", 30, TimeSpan.FromSeconds(1)));
                Assert.AreEqual("timeout", e.Code);
            }
        }

        [Test]
        public void ProblemsCarryCodeStatusAndRequestId()
        {
            var e = Assert.Throws<ApiException>(async () => await client.GetLockAsync("bad name"));
            Assert.AreEqual(400, e.StatusCode);
            Assert.AreEqual(ProblemCode.InvalidLockName, e.Code);
            Assert.IsNotNullOrEmpty(e.RequestId);
            StringAssert.StartsWith("400 invalid_lock_name", e.Message);
        }
    }
}
