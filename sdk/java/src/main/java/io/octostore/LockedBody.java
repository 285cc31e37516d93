package io.octostore;

/**
 * The block {@link OctoStore#withLock} runs while it holds the lock.
 *
 * @param <T> what the block returns
 * @param <E> the checked exception the block may throw
 */
@FunctionalInterface
public interface LockedBody<T, E extends Exception> {
  /** Runs with the lock held; {@code lease} carries the fencing token. */
  T run(Lease lease) throws E;
}
