package io.octostore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
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
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The session helper's keep-alive and what it sends, against a scripted HTTP server on
 * loopback: renewals at renew_after_ms, transient failures retried, an unreachable server a
 * loss at the local deadline (3 × renew_after_ms after the last renewal sent), and acquires
 * through a session carrying session_id and no ttl_seconds.
 */
class SessionKeepAliveTest {
  private static final String SESSION_ID = "ses_0123456789abcdef0123456789abcdef";
  private static final String LEASE_ID = UUID.randomUUID().toString();

  private HttpServer http;
  private OctoStore client;
  private volatile long renewAfterMs = 200;
  private final ConcurrentLinkedQueue<Integer> renewStatuses = new ConcurrentLinkedQueue<>();
  private final List<String> acquireBodies = new CopyOnWriteArrayList<>();
  private final AtomicInteger renews = new AtomicInteger();
  private final AtomicInteger deletes = new AtomicInteger();

  @BeforeEach
  void start() throws IOException {
    http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http.createContext("/sessions", ex -> {
      ex.getRequestBody().readAllBytes();
      String path = ex.getRequestURI().getPath();
      if (path.equals("/sessions") && ex.getRequestMethod().equals("POST")) {
        reply(ex, 201, session());
      } else if (path.endsWith("/renew")) {
        renews.incrementAndGet();
        Integer status = renewStatuses.poll();
        if (status == null || status == 200) {
          reply(ex, 200, session());
        } else {
          reply(ex, status, problem(status, status == 404 ? "session_not_found" : "unavailable"));
        }
      } else if (ex.getRequestMethod().equals("DELETE")) {
        deletes.incrementAndGet();
        ex.sendResponseHeaders(204, -1);
        ex.close();
      } else {
        reply(ex, 404, problem(404, "not_found"));
      }
    });
    http.createContext("/locks/job/acquire", ex -> {
      acquireBodies.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      reply(ex, 200, "{\"status\":\"acquired\",\"lease_id\":\"" + LEASE_ID + "\",\"fencing_token\":7,\"expires_at\":\""
          + Instant.now().plusSeconds(1) + "\",\"renew_after_ms\":" + renewAfterMs + "}");
    });
    http.start();
    client = OctoStore.connect("http://127.0.0.1:" + http.getAddress().getPort(), "oct_test");
  }

  @AfterEach
  void stop() {
    client.close();
    http.stop(0);
  }

  private String session() {
    return "{\"session_id\":\"" + SESSION_ID + "\",\"ttl_seconds\":1,\"expires_at\":\"" + Instant.now().plusSeconds(1)
        + "\",\"renew_after_ms\":" + renewAfterMs + "}";
  }

  private static String problem(int status, String code) {
    return "{\"type\":\"urn:octostore:problem:" + code + "\",\"title\":\"t\",\"status\":" + status
        + ",\"code\":\"" + code + "\",\"request_id\":\"r\"}";
  }

  private static void reply(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", status < 300 ? "application/json" : "application/problem+json");
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
    ex.close();
  }

  /** Polls {@code done} every 10 ms for up to 10 s. */
  private static void eventually(String what, java.util.function.BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("not within 10 s: " + what);
      }
      Thread.sleep(10);
    }
  }

  @Test
  void theKeepAliveRenewsAtRenewAfterAndRetriesTransientFailures() throws Exception {
    renewStatuses.add(503);
    renewStatuses.add(503);
    try (Session s = client.openSession(Duration.ofSeconds(1))) {
      eventually("renewed past the two 503s", () -> renews.get() >= 4);
      assertEquals(Session.State.ALIVE, s.state());
      assertFalse(s.isLost());
    }
    assertEquals(1, deletes.get(), "close deletes the session");
  }

  @Test
  void unreachableServerDuringKeepAliveEndsInLossAtTheDeadline() throws Exception {
    long before = System.nanoTime();
    Session s = client.openSession(Duration.ofSeconds(1));
    Lease lease = s.tryLock("job").lease().orElseThrow();
    List<LossReason> told = new CopyOnWriteArrayList<>();
    s.onLost((x, why) -> told.add(why));
    http.stop(0); // Every keep-alive from now on is refused.
    assertEquals(LossReason.EXPIRED, s.lost().get(10, TimeUnit.SECONDS));
    long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before);
    assertTrue(elapsedMs >= 3 * renewAfterMs, "lost before the deadline: after " + elapsedMs + " ms");
    assertTrue(s.isLost());
    eventually("listener told", () -> told.equals(List.of(LossReason.EXPIRED)));
    assertEquals(LossReason.SESSION_ENDED, lease.lost().get(1, TimeUnit.SECONDS), "a bound lease ends with its session");
    SessionLostException e = assertThrows(SessionLostException.class, () -> s.tryLock("job"));
    assertEquals("session_not_found", e.code());
    assertEquals(0, e.status(), "the client gave it up; no server said so");
    s.close(); // after a loss: returns without raising, although nothing answers
  }

  @Test
  void aSessionTheServerNoLongerKnowsIsLostAtOnce() throws Exception {
    renewStatuses.add(404);
    Session s = client.openSession(Duration.ofSeconds(1));
    assertEquals(LossReason.NOT_CURRENT, s.lost().get(10, TimeUnit.SECONDS));
    SessionLostException e = assertThrows(SessionLostException.class, () -> s.tryLock("job"));
    assertEquals(404, e.status());
    s.close();
    assertEquals(0, deletes.get(), "the server said it is gone: nothing to delete");
  }

  @Test
  void locksThroughASessionSendItsIdAndNoTtlAndAreNotRenewedOnTheirOwn() throws Exception {
    renewAfterMs = 3_600_000;
    try (Session s = client.openSession(Duration.ofSeconds(1))) {
      Lease lease = s.tryLock("job", LockOptions.defaults().withTtl(Duration.ofSeconds(30)).withLockDelay(Duration.ofSeconds(5)))
          .lease().orElseThrow();
      assertEquals(s, lease.session().orElseThrow());
      Lease permit = s.semaphore("job", 3).tryLock().lease().orElseThrow();
      String body = acquireBodies.get(0);
      assertTrue(body.contains("\"session_id\":\"" + SESSION_ID + "\""), body);
      assertFalse(body.contains("ttl_seconds"), body);
      assertTrue(body.contains("\"lock_delay_seconds\":5"), body);
      assertTrue(acquireBodies.get(1).contains("\"max_holders\":3"), acquireBodies.get(1));
      assertTrue(lease.isHeld());
      assertTrue(permit.isHeld());
    }
    assertEquals(0, renews.get(), "no lease renewal, no session renewal before renew_after_ms");
  }

  @Test
  void closeIsNotALossAndReleasesTheBoundLeases() throws Exception {
    Session s = client.openSession(Duration.ofSeconds(1));
    Lease lease = s.tryLock("job").lease().orElseThrow();
    var lost = s.lost();
    s.close();
    assertEquals(Session.State.CLOSED, s.state());
    assertTrue(lost.isCancelled(), "closing is not a loss");
    assertFalse(lease.isHeld());
    assertFalse(lease.isLost());
    assertInstanceOf(IllegalStateException.class, assertThrows(RuntimeException.class, () -> s.tryLock("job")));
    s.close();
    assertEquals(1, deletes.get(), "close is idempotent");
  }

  @Test
  void orphanStopsTheKeepAliveOnly() throws Exception {
    Session s = client.openSession(Duration.ofSeconds(1));
    Lease lease = s.tryLock("job").lease().orElseThrow();
    s.orphan();
    assertEquals(Session.State.ORPHANED, s.state());
    assertFalse(s.isLost());
    assertEquals(LossReason.SESSION_ENDED, lease.lossReason().orElseThrow());
    int at = renews.get();
    long waitUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3 * renewAfterMs);
    // Renewals would have happened in this span; none must.
    while (System.nanoTime() - waitUntil < 0) {
      assertEquals(at, renews.get());
      Thread.sleep(20);
    }
    assertEquals(0, deletes.get(), "orphan deletes nothing");
    assertFalse(s.isLost(), "an orphaned session is never lost");
  }
}
