using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using NUnit.Framework;

namespace OctoStore.Tests
{
    /// <summary>
    /// One octostore-lock process started as the conformance README's harness section says:
    /// a fresh temporary directory, only PATH plus the harness's variables in its environment,
    /// output to files, the address read from the <c>msg=listening</c> line.
    /// </summary>
    public sealed class Server
    {
        private static readonly object Gate = new object();
        private static readonly Dictionary<string, Server> Servers = new Dictionary<string, Server>();
        private readonly string dir;
        private Process process;

        private Server(IDictionary<string, string> env)
        {
            var bin = Environment.GetEnvironmentVariable("OCTOSTORE_BIN") ?? "";
            if (bin.Length == 0 || !File.Exists(bin))
            {
                throw new InvalidOperationException("OCTOSTORE_BIN must name the octostore-lock binary (go build -o bin/ ./cmd/octostore-lock); got '" + bin + "'");
            }
            dir = Path.Combine(Path.GetTempPath(), "octostore-conformance-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            Directory.CreateDirectory(dir);
            AdminKey = Guid.NewGuid().ToString("N");
            File.WriteAllText(Path.Combine(dir, "empty.env"), "");
            // A launcher script sends the server's output to files without a pipe to drain.
            File.WriteAllText(Path.Combine(dir, "run.sh"),
                "exec '" + bin.Replace("'", "'\\''") + "' --bind-addr 127.0.0.1:0 >stdout.log 2>stderr.log\n");
            var psi = new ProcessStartInfo("/bin/sh", "run.sh") { UseShellExecute = false, WorkingDirectory = dir };
            psi.EnvironmentVariables.Clear();
            psi.EnvironmentVariables["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
            psi.EnvironmentVariables["ADMIN_KEY"] = AdminKey;
            psi.EnvironmentVariables["DATABASE_URL"] = Path.Combine(dir, "octostore.db");
            psi.EnvironmentVariables["ENV_FILE"] = Path.Combine(dir, "empty.env");
            psi.EnvironmentVariables["LOG_LEVEL"] = "info";
            psi.EnvironmentVariables["LOG_FORMAT"] = "text";
            foreach (var kv in env) psi.EnvironmentVariables[kv.Key] = kv.Value;
            process = Process.Start(psi);
            BaseUrl = "http://" + WaitListening();
        }

        public string BaseUrl { get; private set; }

        public string AdminKey { get; private set; }

        /// <summary>The server for these settings, started on first use; <see cref="StopAll"/> ends them.</summary>
        public static Server For(IDictionary<string, string> env)
        {
            var keys = new List<string>(env.Keys);
            keys.Sort(StringComparer.Ordinal);
            var key = new StringBuilder();
            foreach (var k in keys) key.Append(k).Append('=').Append(env[k]).Append('\n');
            lock (Gate)
            {
                Server s;
                if (!Servers.TryGetValue(key.ToString(), out s))
                {
                    s = new Server(env);
                    Servers[key.ToString()] = s;
                }
                return s;
            }
        }

        /// <summary>A server of the scenario's own (server.dedicated), shared with no other; the scenario stops it.</summary>
        public static Server Dedicated(IDictionary<string, string> env)
        {
            return new Server(env);
        }

        /// <summary>Sends SIGSTOP or SIGCONT (or any signal name) to the server's PID.</summary>
        public void Signal(string name)
        {
            if (process == null) throw new InvalidOperationException("the server is not running");
            using (var kill = Process.Start(new ProcessStartInfo("kill", "-" + name + " " + process.Id) { UseShellExecute = false }))
            {
                kill.WaitForExit();
                if (kill.ExitCode != 0) throw new InvalidOperationException("kill -" + name + " " + process.Id + " failed");
            }
        }

        public static void StopAll()
        {
            lock (Gate)
            {
                foreach (var s in Servers.Values) s.Stop();
                Servers.Clear();
            }
        }

        /// <summary>POST to the admin API; returns the parsed JSON body.</summary>
        public JsonObject AdminPost(string path, JsonObject body)
        {
            using (var http = new HttpClient())
            using (var req = new HttpRequestMessage(HttpMethod.Post, BaseUrl + path))
            {
                req.Headers.Add("X-Admin-Key", AdminKey);
                if (body != null) req.Content = new StringContent(Json.Write(body), Encoding.UTF8, "application/json");
                using (var res = http.SendAsync(req).GetAwaiter().GetResult())
                {
                    var text = res.Content.ReadAsStringAsync().GetAwaiter().GetResult();
                    if ((int)res.StatusCode != 201) throw new InvalidOperationException("admin " + path + ": HTTP " + (int)res.StatusCode + " " + text);
                    return (JsonObject)Json.Parse(text);
                }
            }
        }

        public void Stop()
        {
            if (process == null) return;
            try
            {
                if (!process.HasExited)
                {
                    // In case a scenario left it paused.
                    using (var cont = Process.Start(new ProcessStartInfo("kill", "-CONT " + process.Id) { UseShellExecute = false }))
                    {
                        cont.WaitForExit();
                    }
                    using (var kill = Process.Start(new ProcessStartInfo("kill", "-TERM " + process.Id) { UseShellExecute = false }))
                    {
                        kill.WaitForExit();
                    }
                    if (!process.WaitForExit(10000)) process.Kill();
                }
            }
            catch (InvalidOperationException)
            {
            }
            process.Dispose();
            process = null;
            try
            {
                Directory.Delete(dir, true);
            }
            catch (IOException)
            {
            }
        }

        private string WaitListening()
        {
            var stdout = Path.Combine(dir, "stdout.log");
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var text = File.Exists(stdout) ? ReadShared(stdout) : "";
                var m = Regex.Match(text, @"msg=listening addr=(\S+)");
                if (m.Success) return m.Groups[1].Value;
                if (process.HasExited) throw new InvalidOperationException("octostore-lock exited before listening:\n" + Logs());
                if (clock.Elapsed > TimeSpan.FromSeconds(15)) throw new InvalidOperationException("octostore-lock did not report listening within 15 s:\n" + Logs());
                Thread.Sleep(20);
            }
        }

        private static string ReadShared(string path)
        {
            using (var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            using (var r = new StreamReader(f))
            {
                return r.ReadToEnd();
            }
        }

        private string Logs()
        {
            var sb = new StringBuilder();
            foreach (var name in new[] { "stdout.log", "stderr.log" })
            {
                var p = Path.Combine(dir, name);
                sb.Append(name).Append(":\n").Append(File.Exists(p) ? ReadShared(p) : "").Append('\n');
            }
            return sb.ToString();
        }
    }

    /// <summary>Stops the servers when the test run ends.</summary>
    [SetUpFixture]
    public sealed class ServerLifetime
    {
        [TearDown]
        public void StopServers()
        {
            Server.StopAll();
        }
    }
}
