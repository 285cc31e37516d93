package io.octostore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The helper's reactions to each kind of answer, against a scripted HTTP server on
 * loopback: transient failures are retried, lease_not_current and an unrenewed TTL are
 * losses, a server that answers "held" at once is asked again at its retry hint.
 */
class LeaseRenewalTest {
  private static final String LEASE_ID = UUID.randomUUID().toString();

  private HttpServer http;
  private OctoStore client;
  private final ConcurrentLinkedQueue<Reply> acquireReplies = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Reply> renewReplies = new ConcurrentLinkedQueue<>();
  private final List<String> acquireBodies = new CopyOnWriteArrayList<>();
  private final AtomicInteger renews = new AtomicInteger();
  private final AtomicInteger releases = new AtomicInteger();
  private volatile Reply renewDefault;

  private record Reply(int status, String body) {}

  @BeforeEach
  void start() throws IOException {
    http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http.createContext("/locks/job/acquire", ex -> {
      acquireBodies.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      Reply r = acquireReplies.poll();
      reply(ex, r != null ? r : acquired(3_600_000));
    });
    http.createContext("/locks/job/renew", ex -> {
      ex.getRequestBody().readAllBytes();
      renews.incrementAndGet();
      Reply r = renewReplies.poll();
      reply(ex, r != null ? r : renewDefault);
    });
    http.createContext("/locks/job/release", ex -> {
      ex.getRequestBody().readAllBytes();
      releases.incrementAndGet();
      reply(ex, new Reply(200, "{\"status\":\"released\",\"lease_id\":\"" + LEASE_ID + "\",\"fencing_token\":7}"));
    });
    http.start();
    client = OctoStore.connect("http://127.0.0.1:" + http.getAddress().getPort(), "oct_test");
    renewDefault = renewed(3_600_000);
  }

  @AfterEach
  void stop() {
    client.close();
    http.stop(0);
  }

  private static void reply(HttpExchange ex, Reply r) throws IOException {
    byte[] b = r.body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", r.status == 200 ? "application/json" : "application/problem+json");
    ex.sendResponseHeaders(r.status, b.length);
    ex.getResponseBody().write(b);
    ex.close();
  }

  private static String expires() {
    return Instant.now().plusSeconds(60).toString();
  }

  private static Reply acquired(long renewAfterMs) {
    return new Reply(200, "{\"status\":\"acquired\",\"lease_id\":\"" + LEASE_ID + "\",\"fencing_token\":7,\"expires_at\":\""
        + expires() + "\",\"renew_after_ms\":" + renewAfterMs + "}");
  }

  private static Reply held(long retryAfterMs) {
    return new Reply(200, "{\"status\":\"held\",\"holder_id\":\"tok_other\",\"expires_at\":\"" + expires()
        + "\",\"retry_after_ms\":" + retryAfterMs + "}");
  }

  private static Reply renewed(long renewAfterMs) {
    return new Reply(200, "{\"status\":\"renewed\",\"lease_id\":\"" + LEASE_ID + "\",\"fencing_token\":7,\"expires_at\":\""
        + expires() + "\",\"renew_after_ms\":" + renewAfterMs + "}");
  }

  private static Reply problem(int status, String code) {
    return new Reply(status, "{\"type\":\"urn:octostore:problem:" + code + "\",\"title\":\"t\",\"status\":" + status
        + ",\"code\":\"" + code + "\",\"request_id\":\"r\"}");
  }

  /** Polls {@code done} every 10 ms for up to 10 s. */
  private static void eventually(String what, BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("not within 10 s: " + what);
      }
      Thread.sleep(10);
    }
  }

  @Test
  void aTransientRenewalFailureIsRetriedAndTheLeaseKept() throws Exception {
    acquireReplies.add(acquired(50));
    renewReplies.add(problem(503, "unavailable"));
    renewReplies.add(renewed(3_600_000));
    LockAttempt a = client.tryLock("job", LockOptions.defaults().withTtl(Duration.ofSeconds(30)));
    Lease lease = a.lease().orElseThrow();
    eventually("the retried renewal applied",
        () -> lease.renewAfter().equals(Optional.of(Duration.ofMillis(3_600_000))));
    assertEquals(2, renews.get());
    assertTrue(lease.isHeld());
    assertTrue(lease.lossReason().isEmpty());
    lease.close();
    assertEquals(1, releases.get());
    assertFalse(lease.isHeld());
    assertTrue(lease.lost().isCancelled(), "a released lease is never lost");
  }

  @Test
  void leaseNotCurrentIsALossToldOnce() throws Exception {
    acquireReplies.add(acquired(50));
    renewDefault = problem(409, "lease_not_current");
    Lease lease = client.tryLock("job").lease().orElseThrow();
    List<LossReason> told = new CopyOnWriteArrayList<>();
    lease.onLost((l, why) -> told.add(why));
    assertEquals(LossReason.NOT_CURRENT, lease.lost().get(10, TimeUnit.SECONDS));
    eventually("listener told", () -> told.size() == 1);
    assertTrue(lease.isLost());
    List<LossReason> late = new CopyOnWriteArrayList<>();
    lease.onLost((l, why) -> late.add(why));
    assertEquals(List.of(LossReason.NOT_CURRENT), late, "a late listener is told at once");
    lease.close();
    assertEquals(0, releases.get(), "a lost lease is not released");
    assertEquals(List.of(LossReason.NOT_CURRENT), told);
  }

  @Test
  void renewalsFailingUntilTheTtlRunsOutAreALoss() throws Exception {
    acquireReplies.add(acquired(50));
    renewDefault = problem(503, "unavailable");
    Lease lease = client.tryLock("job", LockOptions.defaults().withTtl(Duration.ofSeconds(1))).lease().orElseThrow();
    assertEquals(LossReason.EXPIRED, lease.lost().get(10, TimeUnit.SECONDS));
    assertTrue(renews.get() >= 2, "retried before giving up: " + renews.get());
  }

  @Test
  void withoutAutoRenewTheLeaseIsLostAtItsTtl() throws Exception {
    acquireReplies.add(acquired(50));
    Lease lease = client.tryLock("job", LockOptions.defaults().withTtl(Duration.ofSeconds(1)).withAutoRenew(false))
        .lease().orElseThrow();
    assertEquals(LossReason.EXPIRED, lease.lost().get(10, TimeUnit.SECONDS));
    assertEquals(0, renews.get());
  }

  @Test
  void aServerThatAnswersHeldAtOnceIsAskedAgainAtItsHint() throws Exception {
    acquireReplies.add(held(20));
    acquireReplies.add(held(20));
    acquireReplies.add(acquired(3_600_000));
    try (Lease lease = client.lock("job", LockOptions.defaults().withMaxWait(Duration.ofSeconds(10)))) {
      assertEquals(7, lease.fencingToken());
    }
    assertEquals(3, acquireBodies.size());
    assertTrue(acquireBodies.get(0).contains("\"wait_seconds\":"), acquireBodies.get(0));
  }

  @Test
  void aWaitOfZeroIsOneAttempt() {
    acquireReplies.add(held(20));
    LockTimeoutException e = assertThrows(LockTimeoutException.class,
        () -> client.lock("job", LockOptions.defaults().withMaxWait(Duration.ZERO)));
    assertEquals("tok_other", e.holderId());
    assertEquals(1, acquireBodies.size());
    assertFalse(acquireBodies.get(0).contains("wait_seconds"), acquireBodies.get(0));
  }
}
