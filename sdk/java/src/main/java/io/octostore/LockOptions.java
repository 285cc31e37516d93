package io.octostore;

import java.time.Duration;
import java.util.Objects;

/**
 * How to take a lock: the lease's TTL, how long to wait in line, a metadata value to
 * publish with it, and whether to renew it in the background. Immutable; every
 * {@code with…} returns a copy.
 */
public final class LockOptions {
  /** The TTL used when none is given. */
  public static final Duration DEFAULT_TTL = Duration.ofSeconds(15);

  /** The longest lock-delay the server accepts. */
  public static final Duration MAX_LOCK_DELAY = Duration.ofSeconds(60);

  private static final LockOptions DEFAULTS = new LockOptions(DEFAULT_TTL, null, null, null, true, null);

  private final Duration ttl;
  private final Duration wait;
  private final String metadata;
  private final String owner;
  private final boolean autoRenew;
  private final Duration lockDelay;

  private LockOptions(Duration ttl, Duration wait, String metadata, String owner, boolean autoRenew, Duration lockDelay) {
    this.ttl = ttl;
    this.wait = wait;
    this.metadata = metadata;
    this.owner = owner;
    this.autoRenew = autoRenew;
    this.lockDelay = lockDelay;
  }

  /** A 15-second lease, waiting without limit, renewed in the background. */
  public static LockOptions defaults() {
    return DEFAULTS;
  }

  /** The lease's TTL in whole seconds, 1..3600; the server enforces the bounds. */
  public LockOptions withTtl(Duration ttl) {
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.toMillis() % 1000 != 0) {
      throw new IllegalArgumentException("ttl must be whole seconds: " + ttl);
    }
    return new LockOptions(ttl, wait, metadata, owner, autoRenew, lockDelay);
  }

  /**
   * How long {@link OctoStore#lock(String, LockOptions)} waits in line before giving up with
   * {@link LockTimeoutException}; {@code null} (the default) waits without limit.
   */
  public LockOptions withMaxWait(Duration wait) {
    if (wait != null && wait.isNegative()) {
      throw new IllegalArgumentException("maxWait must not be negative: " + wait);
    }
    return new LockOptions(ttl, wait, metadata, owner, autoRenew, lockDelay);
  }

  /** A value (up to 1024 bytes) stored with the lease and shown to everyone in the account. */
  public LockOptions withMetadata(String metadata) {
    return new LockOptions(ttl, wait, metadata, owner, autoRenew, lockDelay);
  }

  /** The holder name for processes sharing one token; overrides the client's owner. */
  public LockOptions withOwner(String owner) {
    return new LockOptions(ttl, wait, metadata, owner, autoRenew, lockDelay);
  }

  /** Whether to renew the lease in the background (default true). */
  public LockOptions withAutoRenew(boolean autoRenew) {
    return new LockOptions(ttl, wait, metadata, owner, autoRenew, lockDelay);
  }

  /**
   * Lock-delay (Chubby's), sent as {@code lock_delay_seconds}: when this lease <em>expires</em>
   * (or its session expires), nobody is granted the lock for this long, so a holder that lost
   * it without noticing has time to stop. A release never starts it. Whole seconds, 0..60;
   * {@code null} or zero (the default) means none. During the delay a try gets a held
   * answer with no holder and {@link LockAttempt#availableAt()}; a blocking lock waits it out.
   */
  public LockOptions withLockDelay(Duration lockDelay) {
    if (lockDelay != null) {
      if (lockDelay.isNegative() || lockDelay.compareTo(MAX_LOCK_DELAY) > 0 || lockDelay.toMillis() % 1000 != 0) {
        throw new IllegalArgumentException("lockDelay must be whole seconds, 0..60: " + lockDelay);
      }
    }
    return new LockOptions(ttl, wait, metadata, owner, autoRenew, lockDelay);
  }

  /** The lock-delay to ask for, or {@code null} for none. */
  public Duration lockDelay() {
    return lockDelay;
  }

  /** The lease's TTL. */
  public Duration ttl() {
    return ttl;
  }

  /** How long to wait in line, or {@code null} for no limit. */
  public Duration maxWait() {
    return wait;
  }

  /** The metadata to publish, or {@code null}. */
  public String metadata() {
    return metadata;
  }

  /** The owner override, or {@code null}. */
  public String owner() {
    return owner;
  }

  /** Whether the lease renews itself. */
  public boolean autoRenew() {
    return autoRenew;
  }
}
