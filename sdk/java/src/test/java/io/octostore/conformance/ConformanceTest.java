package io.octostore.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every scenario of the language-neutral conformance suite (sdk/conformance) as one JUnit
 * test, run through the Java helper against a live octostore-lock. The directory is
 * {@code OCTOSTORE_CONFORMANCE_DIR} when set, else {@code ../conformance} beside this SDK.
 */
class ConformanceTest {
  /** One server per distinct {@code server.env}, started on first use. */
  private static final Map<Map<String, String>, TestServer> SERVERS = new LinkedHashMap<>();

  static Path suiteDir() {
    String dir = System.getenv("OCTOSTORE_CONFORMANCE_DIR");
    if (dir == null || dir.isEmpty()) {
      dir = System.getProperty("octostore.conformance", "../conformance");
    }
    return Path.of(dir);
  }

  @TestFactory
  Stream<DynamicTest> scenarios() throws IOException {
    Path dir = suiteDir().resolve("scenarios");
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("no conformance scenarios at " + dir.toAbsolutePath()
          + " (set OCTOSTORE_CONFORMANCE_DIR to the sdk/conformance directory)");
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
    }
    assertFalse(files.isEmpty(), "no scenario files in " + dir);
    return files.stream().map(f -> {
      String fileName = f.getFileName().toString();
      String name = fileName.substring(0, fileName.length() - ".json".length());
      return DynamicTest.dynamicTest(name, f.toUri(), () -> run(name, f));
    });
  }

  @SuppressWarnings("unchecked")
  private static void run(String name, Path file) throws Exception {
    Map<String, Object> scenario = ScenarioRunner.parse(Files.readString(file));
    assertEquals(name, scenario.get("name"), file + ": name must equal the file name");
    Map<String, String> env = new TreeMap<>();
    Map<String, Object> server = (Map<String, Object>) scenario.get("server");
    if (server != null && server.get("env") != null) {
      env.putAll((Map<String, String>) server.get("env"));
    }
    if (server != null && Boolean.TRUE.equals(server.get("dedicated"))) {
      // A server of its own, which the scenario may pause; stopped when the scenario ends.
      try (TestServer own = TestServer.start(env)) {
        try (ScenarioRunner runner = new ScenarioRunner(scenario, own)) {
          runner.run();
        }
      }
      return;
    }
    try (ScenarioRunner runner = new ScenarioRunner(scenario, server(env))) {
      runner.run();
    }
  }

  private static synchronized TestServer server(Map<String, String> env) throws Exception {
    TestServer s = SERVERS.get(env);
    if (s == null) {
      s = TestServer.start(env);
      SERVERS.put(env, s);
    }
    return s;
  }

  @AfterAll
  static synchronized void stopServers() throws Exception {
    for (TestServer s : SERVERS.values()) {
      s.close();
    }
    SERVERS.clear();
  }
}
