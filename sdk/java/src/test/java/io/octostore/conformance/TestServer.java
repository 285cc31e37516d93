package io.octostore.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A live octostore-lock started as the conformance README prescribes: the binary from
 * {@code OCTOSTORE_BIN} on 127.0.0.1:0 in a fresh directory, an environment of only PATH
 * and its own settings, output to files, the address read from the "listening" line.
 */
public final class TestServer implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("msg=listening addr=(\\S+)");
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final Path dir;
  private final Process process;
  private final String adminKey;
  private final String baseUrl;

  private TestServer(Path dir, Process process, String adminKey, String baseUrl) {
    this.dir = dir;
    this.process = process;
    this.adminKey = adminKey;
    this.baseUrl = baseUrl;
  }

  /** The server binary named by OCTOSTORE_BIN; fails with a clear message when missing. */
  public static Path binary() {
    String bin = System.getenv("OCTOSTORE_BIN");
    if (bin == null || bin.isEmpty()) {
      throw new IllegalStateException(
          "OCTOSTORE_BIN is not set: build the server (go build -o bin/ ./cmd/octostore-lock) and point OCTOSTORE_BIN at it");
    }
    Path p = Path.of(bin).toAbsolutePath();
    if (!Files.isExecutable(p)) {
      throw new IllegalStateException("OCTOSTORE_BIN=" + bin + " is not an executable file");
    }
    return p;
  }

  /** Starts a server with {@code env} added to its settings and waits until it listens. */
  public static TestServer start(Map<String, String> env) throws IOException, InterruptedException {
    Path bin = binary();
    Path dir = Files.createTempDirectory("octostore-java-");
    Path emptyEnv = Files.createFile(dir.resolve("empty.env"));
    Path out = dir.resolve("stdout.log");
    Path err = dir.resolve("stderr.log");
    byte[] key = new byte[16];
    RANDOM.nextBytes(key);
    String adminKey = HexFormat.of().formatHex(key);

    ProcessBuilder pb = new ProcessBuilder(bin.toString(), "--bind-addr", "127.0.0.1:0");
    pb.directory(dir.toFile());
    Map<String, String> e = pb.environment();
    String path = e.get("PATH");
    e.clear();
    if (path != null) {
      e.put("PATH", path);
    }
    e.put("ADMIN_KEY", adminKey);
    e.put("DATABASE_URL", dir.resolve("octostore.db").toString());
    e.put("ENV_FILE", emptyEnv.toString());
    e.put("LOG_LEVEL", "info");
    e.put("LOG_FORMAT", "text");
    e.putAll(env);
    pb.redirectOutput(out.toFile());
    pb.redirectError(err.toFile());
    Process p = pb.start();

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() - deadline < 0) {
      Matcher m = LISTENING.matcher(Files.readString(out));
      if (m.find()) {
        return new TestServer(dir, p, adminKey, "http://" + m.group(1));
      }
      if (!p.isAlive()) {
        break;
      }
      Thread.sleep(20);
    }
    String logs = "stdout:\n" + Files.readString(out) + "\nstderr:\n" + Files.readString(err);
    p.destroyForcibly().waitFor();
    deleteTree(dir);
    throw new IllegalStateException("octostore-lock did not start (" + (p.isAlive() ? "timeout" : "exited") + ")\n" + logs);
  }

  /** The server's base URL, http://127.0.0.1:PORT. */
  public String baseUrl() {
    return baseUrl;
  }

  /** POST /admin/accounts: a new account with its first token. */
  public JsonNode createAccount(String name) throws IOException, InterruptedException {
    return admin("/admin/accounts", JSON.writeValueAsString(Map.of("name", name)));
  }

  /** POST /admin/accounts/{id}/tokens: another token (another holder) in the account. */
  public JsonNode createToken(String accountId) throws IOException, InterruptedException {
    return admin("/admin/accounts/" + accountId + "/tokens", null);
  }

  private JsonNode admin(String path, String body) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + path))
        .timeout(Duration.ofSeconds(30))
        .header("X-Admin-Key", adminKey);
    if (body != null) {
      b.header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    } else {
      b.POST(HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    if (r.statusCode() != 201) {
      throw new IllegalStateException("admin " + path + ": HTTP " + r.statusCode() + " " + r.body());
    }
    return JSON.readTree(r.body());
  }

  /** SIGSTOP: the server stops answering (connections still queue). */
  public void pause() throws IOException, InterruptedException {
    signal("STOP");
  }

  /** SIGCONT: the server runs again. */
  public void resume() throws IOException, InterruptedException {
    signal("CONT");
  }

  private void signal(String sig) throws IOException, InterruptedException {
    if (!process.isAlive()) {
      return;
    }
    Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid()))
        .redirectErrorStream(true).start();
    if (!kill.waitFor(10, TimeUnit.SECONDS)) {
      kill.destroyForcibly();
      throw new IllegalStateException("kill -" + sig + " " + process.pid() + " did not return");
    }
    if (kill.exitValue() != 0) {
      throw new IllegalStateException("kill -" + sig + " " + process.pid() + " failed: "
          + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  /** SIGCONT, SIGTERM, up to 10 s for the exit, then SIGKILL; the directory is deleted. */
  @Override
  public void close() throws IOException, InterruptedException {
    try {
      resume();
    } catch (RuntimeException ignored) {
      // Stopping goes on regardless.
    }
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
    deleteTree(dir);
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** 12 random lowercase hex digits, for unique account names. */
  public static String randomSuffix() {
    byte[] b = new byte[6];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
