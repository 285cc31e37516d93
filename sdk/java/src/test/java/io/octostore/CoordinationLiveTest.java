package io.octostore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.octostore.client.model.LockStatus;
import io.octostore.conformance.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Sessions, semaphores, lock-delay and prefix watches against a real octostore-lock (OCTOSTORE_BIN). */
class CoordinationLiveTest {
  private TestServer server;
  private String aliceToken;
  private OctoStore alice;
  private OctoStore bob;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(Map.of());
    var account = server.createAccount("coord-" + TestServer.randomSuffix());
    var second = server.createToken(account.get("account_id").asText());
    aliceToken = account.get("token").asText();
    alice = OctoStore.connect(server.baseUrl(), aliceToken);
    bob = OctoStore.connect(server.baseUrl(), second.get("token").asText());
  }

  @AfterEach
  void stop() throws Exception {
    alice.releaseAll();
    alice.close();
    bob.close();
    if (server != null) {
      server.close();
    }
  }

  @Test
  void sessionDeletedBehindTheHelpersBackFiresTheLossSignal() throws Exception {
    Session s = alice.openSession(Duration.ofSeconds(2));
    Lease lease = s.tryLock("job").lease().orElseThrow();
    List<LossReason> told = new CopyOnWriteArrayList<>();
    s.onLost((x, why) -> told.add(why));
    deleteBehindTheHelpersBack(s);
    assertEquals(LossReason.NOT_CURRENT, s.lost().get(10, TimeUnit.SECONDS));
    assertTrue(s.isLost());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (told.isEmpty()) {
      assertTrue(System.nanoTime() - deadline < 0, "the listener was not told");
      Thread.sleep(10);
    }
    assertEquals(List.of(LossReason.NOT_CURRENT), told);
    assertEquals(LossReason.SESSION_ENDED, lease.lossReason().orElseThrow());
    SessionLostException e = assertThrows(SessionLostException.class, () -> s.tryLock("job"));
    assertEquals("session_not_found", e.code());
    assertEquals(404, e.status());
    s.close(); // after a loss: no error
  }

  @Test
  void anAcquireThroughASessionTheServerForgotThrowsSessionLostException() throws Exception {
    // A 60-second session is first renewed after 20 s: each acquire below is the first to
    // hear session_not_found, before the keep-alive does.
    Session tried = alice.openSession(Duration.ofSeconds(60));
    deleteBehindTheHelpersBack(tried);
    SessionLostException e = assertThrows(SessionLostException.class, () -> tried.tryLock("job"));
    assertEquals("session_not_found", e.code());
    assertEquals(404, e.status());
    assertEquals(LossReason.NOT_CURRENT, e.reason());
    assertTrue(tried.isLost(), "the server's answer to the acquire is the session's loss");
    assertEquals(LossReason.NOT_CURRENT, tried.lost().getNow(null));

    // A blocking acquire is not retried as if the answer were transient: it ends at once.
    Session waited = alice.openSession(Duration.ofSeconds(60));
    deleteBehindTheHelpersBack(waited);
    long sent = System.nanoTime();
    e = assertThrows(SessionLostException.class,
        () -> waited.lock("job", LockOptions.defaults().withMaxWait(Duration.ofSeconds(30))));
    assertTrue(System.nanoTime() - sent < TimeUnit.SECONDS.toNanos(5), "the acquire was retried");
    assertEquals(404, e.status());
    assertTrue(waited.isLost());

    // Renewing a lease bound to a forgotten session renews the session: the same exception.
    Session renewed = alice.openSession(Duration.ofSeconds(60));
    Lease bound = renewed.tryLock("other").lease().orElseThrow();
    deleteBehindTheHelpersBack(renewed);
    e = assertThrows(SessionLostException.class, bound::renew);
    assertEquals(404, e.status());
    assertTrue(renewed.isLost());
    assertEquals(LossReason.SESSION_ENDED, bound.lossReason().orElseThrow());
  }

  @Test
  void nobodyLeadsDuringTheLockDelayAfterTheLeadersLeaseExpired() throws Exception {
    Election watched = bob.election("scheduler");
    List<Optional<Leader>> seen = new CopyOnWriteArrayList<>();
    try (Election.Observer o = watched.observe(seen::add)) {
      Lease leadership = alice.election("scheduler").campaign("alice:8080", LockOptions.defaults()
          .withTtl(Duration.ofSeconds(1)).withAutoRenew(false).withLockDelay(Duration.ofSeconds(3)));
      assertEquals("alice:8080", watched.leader().orElseThrow().value());
      // The lease expires unrenewed: for 3 s the lock is held by nobody (holder_id null).
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      LockStatus st;
      while ((st = bob.status("scheduler")).getHolderId() != null || st.getAvailableAt() == null) {
        assertTrue(System.nanoTime() - deadline < 0, "no lock-delay seen: " + st);
        Thread.sleep(20);
      }
      assertEquals(Optional.empty(), watched.leader(), "a lock kept by a lock-delay has no leader");
      // The observer reported alice, then (at the expiry) no leader, not a leader without a holder.
      int elected = -1;
      while (elected < 0 || seen.size() <= elected + 1) {
        assertTrue(System.nanoTime() - deadline < 0, "the observer saw no change after alice: " + seen);
        elected = indexOfValue(seen, "alice:8080");
        Thread.sleep(20);
      }
      assertEquals(Optional.empty(), seen.get(elected + 1), "the observer's report after the expiry; saw " + seen);
      assertEquals(LossReason.EXPIRED, leadership.lost().get(10, TimeUnit.SECONDS));
    }
    try (Lease next = bob.election("scheduler").campaign("bob:8080",
        LockOptions.defaults().withMaxWait(Duration.ofSeconds(10)))) {
      assertEquals("bob:8080", bob.election("scheduler").leader().orElseThrow().value());
    }
  }

  @Test
  void theKeepAliveHoldsTheSessionsLocksPastItsTtlAndCloseReleasesThem() throws Exception {
    Session s = alice.openSession(Duration.ofSeconds(1));
    Instant first = s.expiresAt();
    Lease lease = s.lock("leader", LockOptions.defaults().withLockDelay(Duration.ofSeconds(30)));
    // Three TTLs' worth of renewals: the lock stays the session's all along.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!s.expiresAt().isAfter(first.plusSeconds(3))) {
      assertTrue(System.nanoTime() - deadline < 0, "the session was not renewed: " + s.expiresAt());
      assertFalse(bob.tryLock("leader").acquired(), "the session's lock was lost while it was kept alive");
      Thread.sleep(100);
    }
    assertEquals(lease.fencingToken(), bob.status("leader").getFencingToken());
    s.close();
    assertFalse(s.isLost(), "closing is not a loss");
    assertFalse(lease.isHeld());
    try (Lease next = bob.tryLock("leader").lease().orElseThrow()) {
      assertTrue(next.fencingToken() > lease.fencingToken(), "a closed session starts no lock-delay");
    }
  }

  @Test
  void aSemaphoreAdmitsItsHoldersAndRefusesAnotherCount() throws Exception {
    Semaphore pool = alice.semaphore("pool", 2);
    Lease one = pool.tryLock().lease().orElseThrow();
    Lease two = bob.semaphore("pool", 2).tryLock().lease().orElseThrow();
    assertTrue(two.fencingToken() > one.fencingToken());
    LockAttempt third = OctoStore.connect(server.baseUrl(), aliceToken).semaphore("pool", 2).tryLock();
    assertFalse(third.acquired());
    LockStatus st = bob.status("pool");
    assertEquals(2, st.getMaxHolders());
    assertEquals(2, st.getHolders().size());
    OctoStoreException e = assertThrows(OctoStoreException.class, () -> bob.semaphore("pool", 3).tryLock());
    assertEquals("max_holders_mismatch", e.code());
    assertEquals(409, e.status());
    one.close();
    two.close();
    assertThrows(IllegalArgumentException.class, () -> alice.semaphore("pool", 65));
  }

  @Test
  void aLockDelayAfterAnExpiryIsAHeldAnswerWithNoHolderAndAnAvailableAt() throws Exception {
    alice.tryLock("printer", LockOptions.defaults().withTtl(Duration.ofSeconds(1))
        .withAutoRenew(false).withLockDelay(Duration.ofSeconds(2))).lease().orElseThrow();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    LockAttempt a;
    while (true) {
      a = bob.tryLock("printer");
      assertFalse(a.acquired(), "granted during the lock-delay");
      if (a.availableAt().isPresent()) {
        break;
      }
      assertTrue(System.nanoTime() - deadline < 0, "no lock-delay seen");
      Thread.sleep(50);
    }
    assertNull(a.holderId(), "nobody holds a lock kept by a lock-delay");
    Instant available = a.availableAt().get();
    try (Lease l = bob.lock("printer", LockOptions.defaults().withMaxWait(Duration.ofSeconds(10)))) {
      assertFalse(Instant.now().plusMillis(100).isBefore(available), "granted before available_at");
    }
  }

  @Test
  void aPrefixWatchReportsEveryChangeUnderThePrefixOnly() throws Exception {
    long index = bob.prefixIndex("jobs.");
    try (PrefixWatch w = bob.watchPrefix("jobs.", index)) {
      Lease a = alice.tryLock("jobs.a").lease().orElseThrow();
      alice.tryLock("other").lease().orElseThrow();
      PrefixWatch.Changes c = w.next();
      assertEquals(List.of("jobs.a:held"), names(c));
      assertTrue(c.index() > index);
      assertEquals(c.index(), w.index());
      a.release();
      alice.tryLock("jobs.b").lease().orElseThrow();
      List<String> seen = new java.util.ArrayList<>();
      while (seen.size() < 2) {
        Optional<PrefixWatch.Changes> next = w.poll(Duration.ofSeconds(10));
        assertTrue(next.isPresent(), "no change within 10 s; saw " + seen);
        seen.addAll(names(next.get()));
      }
      assertEquals(List.of("jobs.a:free", "jobs.b:held"), seen);
      long at = w.index();
      assertEquals(Optional.empty(), w.poll(Duration.ofSeconds(1)), "nothing changed under the prefix");
      assertEquals(at, w.index());
    }
  }

  /** DELETE /sessions/{id} as plain HTTP with alice's token: the helper does not know of it. */
  private void deleteBehindTheHelpersBack(Session s) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(server.baseUrl() + "/sessions/" + s.id()))
            .header("Authorization", "Bearer " + aliceToken).DELETE().build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(204, r.statusCode());
  }

  private static int indexOfValue(List<Optional<Leader>> seen, String value) {
    for (int i = 0; i < seen.size(); i++) {
      if (seen.get(i).map(l -> value.equals(l.value())).orElse(false)) {
        return i;
      }
    }
    return -1;
  }

  private static List<String> names(PrefixWatch.Changes c) {
    return c.changes().stream().map(s -> s.getName() + ":" + s.getStatus().getValue()).toList();
  }
}
