using System;
using System.Globalization;
using System.IO;
using System.Threading;
using OctoStore;

namespace OctoStore.Worker
{
    /// <summary>
    /// The child process of the two-process test: N cycles of lock (or campaign) → read the
    /// counter file → short sleep → write counter+1 → unlock (or resign), with no owner set.
    /// Usage: worker lock|election BASE_URL TOKEN COUNTER_FILE N, or worker hold BASE_URL TOKEN READY_FILE
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            if (args.Length == 4 && args[0] == "hold")
            {
                // Holds a lock with the shutdown hook on and waits to be killed with SIGTERM.
                var holder = new OctoStoreClient(new[] { args[1] }, args[2]);
                holder.ReleaseOnShutdown();
                holder.LockAsync("shutdown-lock", 60, TimeSpan.Zero).GetAwaiter().GetResult();
                File.WriteAllText(args[3], "held");
                Thread.Sleep(Timeout.Infinite);
            }
            if (args.Length != 5)
            {
                Console.Error.WriteLine("usage: worker lock|election BASE_URL TOKEN COUNTER_FILE N");
                return 2;
            }
            var mode = args[0];
            var file = args[3];
            var n = int.Parse(args[4], CultureInfo.InvariantCulture);
            using (var client = new OctoStoreClient(new[] { args[1] }, args[2]))
            {
                var election = client.Election("counter-election");
                for (var i = 0; i < n; i++)
                {
                    if (mode == "lock")
                    {
                        using (client.LockAsync("counter-lock", 15, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult())
                        {
                            Increment(file);
                        }
                    }
                    else
                    {
                        election.CampaignAsync(client.Owner, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
                        Increment(file);
                        election.ResignAsync().GetAwaiter().GetResult();
                    }
                }
            }
            return 0;
        }

        private static void Increment(string file)
        {
            var value = long.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);
            Thread.Sleep(10); // the window in which a second holder would read the same value
            File.WriteAllText(file, (value + 1).ToString(CultureInfo.InvariantCulture));
        }
    }
}
