using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using NUnit.Framework;

namespace OctoStore.Tests
{
    /// <summary>
    /// Two processes sharing ONE token and setting no owner must exclude each other (issue 11):
    /// each runs N read-sleep-write increments of a shared counter file under the lock (then
    /// under the election), and the counter must end at exactly 2N.
    /// </summary>
    [TestFixture]
    public sealed class TwoProcessTests
    {
        private const int Cycles = 30;

        [Test]
        public void TwoProcessesSharingATokenExcludeEachOtherWithTheLock()
        {
            Run("lock");
        }

        [Test]
        public void TwoProcessesSharingATokenNeverBothLead()
        {
            Run("election");
        }

        [Test]
        public void SigtermReleasesTheLocksWithTheShutdownHook()
        {
            var server = Server.For(new System.Collections.Generic.Dictionary<string, string>());
            var body = new JsonObject();
            body["name"] = "shutdown-" + Guid.NewGuid().ToString("N").Substring(0, 12);
            var token = (string)server.AdminPost("/admin/accounts", body)["token"];
            var worker = Path.Combine(Path.GetDirectoryName(typeof(TwoProcessTests).Assembly.Location), "OctoStore.Worker.exe");
            var ready = Path.GetTempFileName();
            File.Delete(ready);
            var child = Process.Start(new ProcessStartInfo("mono", "\"" + worker + "\" hold " + server.BaseUrl + " " + token + " \"" + ready + "\"") { UseShellExecute = false });
            try
            {
                var clock = Stopwatch.StartNew();
                while (!File.Exists(ready))
                {
                    Assert.IsFalse(child.HasExited, "the worker exited before holding the lock");
                    Assert.Less(clock.ElapsedMilliseconds, 15000, "the worker did not take the lock within 15 s");
                    System.Threading.Thread.Sleep(50);
                }
                using (var kill = Process.Start(new ProcessStartInfo("kill", "-TERM " + child.Id) { UseShellExecute = false }))
                {
                    kill.WaitForExit();
                }
                Assert.IsTrue(child.WaitForExit(15000), "the worker did not exit on SIGTERM");
                using (var client = new OctoStoreClient(server.BaseUrl, token))
                {
                    // Released, not left to its 60 s TTL.
                    Assert.AreEqual(LockStatusStatus.Free, client.StatusAsync("shutdown-lock").Result.Status);
                }
            }
            finally
            {
                try
                {
                    if (!child.HasExited) child.Kill();
                }
                catch (InvalidOperationException)
                {
                }
                child.Dispose();
                File.Delete(ready);
            }
        }

        private static void Run(string mode)
        {
            var server = Server.For(new System.Collections.Generic.Dictionary<string, string>());
            var body = new JsonObject();
            body["name"] = "two-process-" + Guid.NewGuid().ToString("N").Substring(0, 12);
            var token = (string)server.AdminPost("/admin/accounts", body)["token"];
            var here = Path.GetDirectoryName(typeof(TwoProcessTests).Assembly.Location);
            var worker = Path.Combine(here, "OctoStore.Worker.exe");
            Assert.IsTrue(File.Exists(worker), worker + " is missing (make build/OctoStore.Worker.exe)");
            var counter = Path.GetTempFileName();
            File.WriteAllText(counter, "0");
            var children = new Process[2];
            try
            {
                for (var i = 0; i < 2; i++)
                {
                    var psi = new ProcessStartInfo("mono", "\"" + worker + "\" " + mode + " " + server.BaseUrl + " " + token + " \"" + counter + "\" " + Cycles.ToString(CultureInfo.InvariantCulture))
                    {
                        UseShellExecute = false,
                        RedirectStandardError = true,
                    };
                    children[i] = Process.Start(psi);
                }
                var deadline = Stopwatch.StartNew();
                foreach (var c in children)
                {
                    var left = (int)Math.Max(0, 60000 - deadline.ElapsedMilliseconds);
                    var errors = c.StandardError.ReadToEndAsync();
                    Assert.IsTrue(c.WaitForExit(left), "a worker did not finish within 60 s");
                    Assert.AreEqual(0, c.ExitCode, "worker failed: " + errors.Result);
                }
                Assert.AreEqual((2 * Cycles).ToString(CultureInfo.InvariantCulture), File.ReadAllText(counter).Trim(),
                    "both processes held the " + mode + " at once");
            }
            finally
            {
                foreach (var c in children)
                {
                    if (c == null) continue;
                    try
                    {
                        if (!c.HasExited) c.Kill();
                    }
                    catch (InvalidOperationException)
                    {
                    }
                    c.Dispose();
                }
                File.Delete(counter);
            }
        }
    }
}
