package io.octostore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The helper contract's defaults that need no server. */
class DefaultsTest {
  @Test
  void everyClientHasItsOwnDefaultOwner() {
    try (OctoStore a = OctoStore.connect("http://127.0.0.1:1", "t");
         OctoStore b = OctoStore.connect("http://127.0.0.1:1", "t")) {
      assertTrue(a.owner().matches("^[!-~]+-" + ProcessHandle.current().pid() + "-[0-9a-f]{8}$"), a.owner());
      assertTrue(a.owner().length() <= 128);
      assertNotEquals(a.owner(), b.owner());
    }
  }

  @Test
  void theOwnerCanBeSet() {
    try (OctoStore c = OctoStore.builder("http://127.0.0.1:1").owner("worker-1").build()) {
      assertEquals("worker-1", c.owner());
    }
  }

  @Test
  void defaultsAreFifteenSecondLeasesAndTenSecondRequests() {
    assertEquals(Duration.ofSeconds(15), LockOptions.defaults().ttl());
    try (OctoStore c = OctoStore.connect("http://127.0.0.1:1", "t")) {
      assertEquals(Duration.ofSeconds(10), c.requestTimeout());
    }
  }

  @Test
  void anEmptyLockNameIsAnInvalidName() {
    try (OctoStore c = OctoStore.connect("http://127.0.0.1:1", "t")) {
      OctoStoreException e = assertThrows(OctoStoreException.class, () -> c.tryLock(""));
      assertEquals("invalid_lock_name", e.code());
    }
  }

  @Test
  void noAnswerNamesEveryUrlAndTheCause() throws IOException {
    String dead1 = deadUrl();
    String dead2 = deadUrl();
    try (OctoStore c = OctoStore.connect(List.of(dead1, dead2), "t")) {
      OctoStoreException e = assertThrows(OctoStoreException.class, () -> c.status("job"));
      assertEquals("transport", e.code());
      assertEquals(0, e.status());
      assertTrue(e.getMessage().contains(dead1) && e.getMessage().contains(dead2), e.getMessage());
      assertTrue(e.getMessage().toLowerCase().contains("refused"), e.getMessage());
    }
  }

  private static String deadUrl() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return "http://127.0.0.1:" + s.getLocalPort();
    }
  }
}
