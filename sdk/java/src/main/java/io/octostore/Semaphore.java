package io.octostore;

import java.util.Objects;

/**
 * A counting semaphore on one lock name: up to {@link #maxHolders()} distinct holders at once,
 * each with its own {@link Lease} (renewed in the background, or bound to a session) and its
 * own fencing token. The same forms and defaults as a lock: {@link #lock}, {@link #tryLock},
 * {@link #withLock}. Every holder and waiter must use the same {@code maxHolders}: another
 * value is refused with 409 {@code max_holders_mismatch}.
 *
 * <pre>{@code
 * try (Lease permit = client.semaphore("render-farm", 3).lock()) {
 *   render(job, permit.fencingToken());
 * }
 * }</pre>
 */
public final class Semaphore {
  /** The most holders a semaphore admits. */
  public static final int MAX_HOLDERS = 64;

  private final OctoStore client;
  private final String name;
  private final int maxHolders;
  private final Session session;

  Semaphore(OctoStore client, String name, int maxHolders, Session session) {
    if (maxHolders < 1 || maxHolders > MAX_HOLDERS) {
      throw new IllegalArgumentException("maxHolders must be 1..64: " + maxHolders);
    }
    this.client = client;
    this.name = Objects.requireNonNull(name, "name");
    this.maxHolders = maxHolders;
    this.session = session;
  }

  /** The lock's name. */
  public String name() {
    return name;
  }

  /** How many holders it admits at once. */
  public int maxHolders() {
    return maxHolders;
  }

  /** Takes a place, waiting in line as long as it takes, with the default options. */
  public Lease lock() throws InterruptedException {
    return lock(LockOptions.defaults());
  }

  /**
   * Takes a place, waiting in line (first come, first served) up to
   * {@link LockOptions#maxWait()}.
   *
   * @throws LockTimeoutException when the wait ends with every place still taken
   * @throws OctoStoreException when the server refuses ({@code max_holders_mismatch}, …)
   */
  public Lease lock(LockOptions options) throws InterruptedException {
    return client.lock(new OctoStore.Acquire(name, Objects.requireNonNull(options, "options"), maxHolders, session));
  }

  /** Takes a place if one is free (one attempt), with the default options. */
  public LockAttempt tryLock() {
    return tryLock(LockOptions.defaults());
  }

  /**
   * Takes a place if one is free, asking once; when every place is taken the attempt names
   * the holder with the lowest fencing token. Nothing is thrown for that.
   */
  public LockAttempt tryLock(LockOptions options) {
    return client.tryLock(new OctoStore.Acquire(name, Objects.requireNonNull(options, "options"), maxHolders, session));
  }

  /** Runs {@code body} holding a place and gives it back however the body ends (see {@link OctoStore#withLock}). */
  public <T, E extends Exception> T withLock(LockOptions options, LockedBody<T, E> body) throws E, InterruptedException {
    Objects.requireNonNull(body, "body");
    return OctoStore.runHolding(name, lock(options), body);
  }
}
