package io.octostore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LockOptionsTest {
  @Test
  void defaultsAreAFifteenSecondRenewedLeaseWaitingWithoutLimit() {
    LockOptions o = LockOptions.defaults();
    assertEquals(Duration.ofSeconds(15), o.ttl());
    assertNull(o.maxWait());
    assertTrue(o.autoRenew());
  }

  @Test
  void withersCopy() {
    LockOptions a = LockOptions.defaults();
    LockOptions b = a.withTtl(Duration.ofSeconds(5)).withMetadata("m").withAutoRenew(false).withMaxWait(Duration.ZERO);
    assertEquals(Duration.ofSeconds(15), a.ttl());
    assertEquals(Duration.ofSeconds(5), b.ttl());
    assertEquals("m", b.metadata());
    assertFalse(b.autoRenew());
    assertEquals(Duration.ZERO, b.maxWait());
  }

  @Test
  void ttlIsWholeSecondsAndWaitNotNegative() {
    assertThrows(IllegalArgumentException.class, () -> LockOptions.defaults().withTtl(Duration.ofMillis(1500)));
    assertThrows(IllegalArgumentException.class, () -> LockOptions.defaults().withMaxWait(Duration.ofSeconds(-1)));
  }
}
