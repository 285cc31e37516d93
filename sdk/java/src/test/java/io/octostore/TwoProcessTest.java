package io.octostore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.octostore.conformance.TestServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two processes of {@link TwoProcessWorker} share ONE token and set no owner: the helper's
 * default unique owner must make them exclude each other, so no increment of the shared
 * counter is lost. (Were both one holder, both would "hold" and updates would be lost.)
 */
class TwoProcessTest {
  private static final int N = 30;
  /** Set to one owner for both workers to see the test catch the defect (both "hold"). */
  private static final String SHARED_OWNER = System.getenv("OCTOSTORE_TWO_PROCESS_OWNER");

  private static TestServer server;
  private static String token;

  @BeforeAll
  static void start() throws Exception {
    server = TestServer.start(Map.of());
    token = server.createAccount("two-process-" + TestServer.randomSuffix()).get("token").asText();
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void twoProcessesSharingATokenExcludeEachOtherWithLock(@TempDir Path dir) throws Exception {
    assertEquals(2 * N, runPair("lock", "counter", dir));
  }

  @Test
  void twoProcessesSharingATokenExcludeEachOtherWithElection(@TempDir Path dir) throws Exception {
    assertEquals(2 * N, runPair("election", "leader", dir));
  }

  private static int runPair(String mode, String name, Path dir) throws Exception {
    Path counter = Files.writeString(dir.resolve("counter"), "0");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<Process> children = new ArrayList<>();
    List<Path> logs = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        List<String> cmd = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
            TwoProcessWorker.class.getName(), mode, server.baseUrl(), token, name,
            counter.toString(), Integer.toString(N)));
        if (SHARED_OWNER != null && !SHARED_OWNER.isEmpty()) {
          cmd.add(SHARED_OWNER);
        }
        Path log = dir.resolve(mode + "-" + i + ".log");
        logs.add(log);
        children.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start());
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      for (int i = 0; i < children.size(); i++) {
        Process p = children.get(i);
        long left = deadline - System.nanoTime();
        assertTrue(p.waitFor(Math.max(0, left), TimeUnit.NANOSECONDS),
            "worker " + i + " (pid " + p.pid() + ") still running at the deadline");
        assertEquals(0, p.exitValue(), "worker " + i + " failed:\n" + Files.readString(logs.get(i)));
      }
    } finally {
      for (Process p : children) {
        if (p.isAlive()) {
          p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
    }
    return Integer.parseInt(Files.readString(counter, StandardCharsets.UTF_8).trim());
  }
}
