package io.octostore;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The child process of {@link TwoProcessTest}: {@code n} cycles of take the lock (or win
 * the election) → read the counter file → short pause → write counter + 1 → release (or
 * resign). Sets no owner unless given one, exactly as a user who sets none.
 *
 * <p>Arguments: {@code lock|election baseUrl token name counterFile n [owner]}.
 */
public final class TwoProcessWorker {
  private TwoProcessWorker() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    String url = args[1];
    String token = args[2];
    String name = args[3];
    Path counter = Path.of(args[4]);
    int n = Integer.parseInt(args[5]);
    String owner = args.length > 6 ? args[6] : null;
    LockOptions o = LockOptions.defaults().withMaxWait(Duration.ofSeconds(20));
    try (OctoStore client = OctoStore.builder(url).token(token).owner(owner).build()) {
      for (int i = 0; i < n; i++) {
        if (mode.equals("lock")) {
          try (Lease lease = client.lock(name, o)) {
            increment(counter);
          }
        } else {
          Election e = client.election(name);
          e.campaign(client.owner(), o);
          try {
            increment(counter);
          } finally {
            e.resign();
          }
        }
      }
    }
  }

  /** Read, pause (so an overlapping holder would lose an update), write. */
  private static void increment(Path counter) throws Exception {
    String text = Files.readString(counter, StandardCharsets.UTF_8).trim();
    int value = text.isEmpty() ? 0 : Integer.parseInt(text);
    Thread.sleep(5);
    Files.writeString(counter, Integer.toString(value + 1), StandardCharsets.UTF_8);
  }
}
