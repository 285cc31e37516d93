package io.octostore;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The outcome of {@link OctoStore#tryLock}: the lease when the lock was free, otherwise who
 * holds it and until when.
 *
 * <pre>{@code
 * LockAttempt attempt = client.tryLock("nightly-report");
 * if (attempt.acquired()) {
 *   try (Lease lease = attempt.lease().orElseThrow()) { … }
 * } else {
 *   log.info("held by {} until {}", attempt.holderId(), attempt.expiresAt());
 * }
 * }</pre>
 */
public final class LockAttempt {
  private final Lease lease;
  private final String holderId;
  private final Instant expiresAt;
  private final Duration retryAfter;
  private final Instant availableAt;

  private LockAttempt(Lease lease, String holderId, Instant expiresAt, Duration retryAfter, Instant availableAt) {
    this.lease = lease;
    this.holderId = holderId;
    this.expiresAt = expiresAt;
    this.retryAfter = retryAfter;
    this.availableAt = availableAt;
  }

  static LockAttempt acquired(Lease lease) {
    return new LockAttempt(lease, null, lease.expiresAt(), null, null);
  }

  static LockAttempt held(String holderId, Instant expiresAt, Duration retryAfter, Instant availableAt) {
    return new LockAttempt(null, holderId, expiresAt, retryAfter, availableAt);
  }

  /** Whether the lock was granted. */
  public boolean acquired() {
    return lease != null;
  }

  /** The new lease, when the lock was granted; close it to release. */
  public Optional<Lease> lease() {
    return Optional.ofNullable(lease);
  }

  /**
   * Who holds the lock (a semaphore's: the holder with the lowest fencing token), when it
   * was not granted; {@code null} otherwise, and also while only a lock-delay keeps the lock
   * (nobody holds it; see {@link #availableAt()}).
   */
  public String holderId() {
    return holderId;
  }

  /** When the lease (the new one, or the holder's) ends unless renewed. */
  public Instant expiresAt() {
    return expiresAt;
  }

  /**
   * While a lock-delay keeps the lock from everyone (its last lease expired), when the delay
   * ends and the lock can be taken again; empty otherwise.
   */
  public Optional<Instant> availableAt() {
    return Optional.ofNullable(availableAt);
  }

  /** When trying again is worthwhile, when the server said. */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }
}
