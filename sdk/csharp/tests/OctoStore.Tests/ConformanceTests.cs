using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using NUnit.Framework;

namespace OctoStore.Tests
{
    /// <summary>
    /// The shared conformance suite (sdk/conformance, or OCTOSTORE_CONFORMANCE_DIR): one test
    /// case per scenario file, named after it, run through the helpers against a live
    /// octostore-lock from OCTOSTORE_BIN.
    /// </summary>
    [TestFixture]
    public sealed class ConformanceTests
    {
        public static IEnumerable<TestCaseData> Scenarios()
        {
            var dir = Environment.GetEnvironmentVariable("OCTOSTORE_CONFORMANCE_DIR");
            if (string.IsNullOrEmpty(dir))
            {
                // The test assembly is built into sdk/csharp/build; the suite is sdk/conformance.
                var here = Path.GetDirectoryName(typeof(ConformanceTests).Assembly.Location);
                dir = Path.GetFullPath(Path.Combine(here, "..", "..", "conformance"));
            }
            var files = Directory.Exists(Path.Combine(dir, "scenarios")) ? Directory.GetFiles(Path.Combine(dir, "scenarios"), "*.json") : new string[0];
            if (files.Length == 0) throw new InvalidOperationException("no scenarios in " + dir + "/scenarios (set OCTOSTORE_CONFORMANCE_DIR)");
            Array.Sort(files, StringComparer.Ordinal);
            foreach (var file in files)
            {
                var scenario = (JsonObject)Json.Parse(File.ReadAllText(file));
                yield return new TestCaseData(scenario).SetName((string)scenario["name"]);
            }
        }

        [Test, TestCaseSource("Scenarios")]
        public async Task Scenario(JsonObject scenario)
        {
            try
            {
                await new Runner(scenario).RunAsync();
            }
            catch (StepFailure e)
            {
                Assert.Fail(e.Message);
            }
        }
    }
}
