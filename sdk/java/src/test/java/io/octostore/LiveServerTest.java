package io.octostore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.octostore.client.model.LockStatus;
import io.octostore.conformance.TestServer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The helper against a real octostore-lock (OCTOSTORE_BIN), for what the suite cannot show. */
class LiveServerTest {
  private TestServer server;
  private OctoStore alice;
  private OctoStore bob;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(Map.of());
    var account = server.createAccount("live-" + TestServer.randomSuffix());
    var second = server.createToken(account.get("account_id").asText());
    alice = OctoStore.connect(server.baseUrl(), account.get("token").asText());
    bob = OctoStore.connect(server.baseUrl(), second.get("token").asText());
  }

  @AfterEach
  void stop() throws Exception {
    alice.close();
    bob.close();
    if (server != null) {
      server.close();
    }
  }

  @Test
  void tryWithResourcesReleases() throws Exception {
    long token;
    try (Lease lease = alice.lock("job")) {
      token = lease.fencingToken();
      assertEquals(LockStatus.StatusEnum.HELD, bob.status("job").getStatus());
    }
    assertEquals(LockStatus.StatusEnum.FREE, bob.status("job").getStatus());
    try (Lease next = bob.tryLock("job").lease().orElseThrow()) {
      assertTrue(next.fencingToken() > token);
    }
  }

  @Test
  void aBlockedLockEndsWithInterruptedException() throws Exception {
    try (Lease held = alice.lock("job")) {
      CompletableFuture<Throwable> outcome = new CompletableFuture<>();
      Thread waiter = new Thread(() -> {
        try {
          bob.lock("job").close();
          outcome.complete(null);
        } catch (Throwable t) {
          outcome.complete(t);
        }
      });
      waiter.start();
      // Interrupt once the waiter is inside the blocking call.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (waiter.getState() != Thread.State.WAITING && waiter.getState() != Thread.State.TIMED_WAITING) {
        assertTrue(System.nanoTime() - deadline < 0, "waiter never blocked");
        Thread.sleep(10);
      }
      waiter.interrupt();
      assertInstanceOf(InterruptedException.class, outcome.get(10, TimeUnit.SECONDS));
      assertEquals(held.fencingToken(), bob.status("job").getFencingToken());
    }
  }

  @Test
  void aLeaseWhoseServerIsGoneIsLostAtItsTtl() throws Exception {
    Lease lease = alice.lock("job", LockOptions.defaults().withTtl(Duration.ofSeconds(2)));
    CompletableFuture<LossReason> told = new CompletableFuture<>();
    lease.onLost((l, why) -> told.complete(why));
    server.close();
    server = null;
    assertEquals(LossReason.EXPIRED, told.get(15, TimeUnit.SECONDS));
    assertTrue(lease.isLost());
  }
}
