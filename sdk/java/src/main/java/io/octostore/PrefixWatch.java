package io.octostore;

import io.octostore.client.model.LockList;
import io.octostore.client.model.LockStatus;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Follows every change under a lock-name prefix, one answer at a time, from an index
 * ({@link OctoStore#prefixIndex} or an earlier answer's). Each answer has the index it moved
 * to, and the watch comes back with it, so no change is ever missed; 429 and 503 answers
 * are waited out (their {@code Retry-After}, or a second) and asked again.
 *
 * <pre>{@code
 * long index = client.prefixIndex("jobs.");
 * try (PrefixWatch watch = client.watchPrefix("jobs.", index)) {
 *   while (running) {
 *     PrefixWatch.Changes c = watch.next();
 *     for (LockStatus s : c.changes()) {
 *       log.info("{} is {}", s.getName(), s.getStatus());
 *     }
 *   }
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one thread reads a watch. {@link #close()} may be called from another
 * thread; the watch then ends after the request in flight (at most 60 s).
 */
public final class PrefixWatch implements AutoCloseable {
  /** How long to pause after a 429 or 503 without a {@code Retry-After}. */
  private static final Duration DEFAULT_BACKOFF = Duration.ofSeconds(1);

  /**
   * One answer of a prefix watch.
   *
   * @param index the index to watch from next: every change under the prefix so far is at or below it
   * @param changes every lock under the prefix that changed past the index asked with, by
   *     name; a released or expired one has status {@code free}
   * @param complete false when the server no longer remembered every lock freed since the
   *     index asked with: {@code changes} then holds every lock held under the prefix, and
   *     any lock you knew that is not in it is free
   */
  public record Changes(long index, List<LockStatus> changes, boolean complete) {
    /** Copies the list. */
    public Changes {
      changes = List.copyOf(changes);
    }
  }

  private final OctoStore client;
  private final String prefix;
  private volatile long index;
  private volatile boolean closed;

  PrefixWatch(OctoStore client, String prefix, long index) {
    if (index < 0) {
      throw new IllegalArgumentException("index must not be negative: " + index);
    }
    this.client = client;
    this.prefix = prefix;
    this.index = index;
  }

  /** The prefix watched. */
  public String prefix() {
    return prefix;
  }

  /** The index the next request asks from: the latest answer's. */
  public long index() {
    return index;
  }

  /**
   * Waits as long as it takes for the next answer with changes.
   *
   * @throws IllegalStateException when the watch was closed
   * @throws OctoStoreException when the server refuses (other than 429/503) or cannot be reached
   * @throws InterruptedException when the thread is interrupted while pausing
   */
  public Changes next() throws InterruptedException {
    while (true) {
      Optional<Changes> c = poll(Duration.ofSeconds(OctoStore.MAX_WAIT_SECONDS));
      if (c.isPresent()) {
        return c.get();
      }
    }
  }

  /**
   * Waits at most about {@code timeout} (rounded up to whole seconds, at least one) for the
   * next answer with changes; empty when the time ends first (the index stays as it was).
   *
   * @throws IllegalStateException when the watch was closed
   * @throws OctoStoreException when the server refuses (other than 429/503) or cannot be reached
   * @throws InterruptedException when the thread is interrupted while pausing
   */
  public Optional<Changes> poll(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean first = true;
    while (true) {
      if (closed) {
        throw new IllegalStateException("octostore: the watch of prefix " + prefix + " is closed");
      }
      long remaining = deadline - System.nanoTime();
      if (remaining <= 0 && !first) {
        return Optional.empty();
      }
      first = false;
      int seconds = (int) Math.max(1, Math.min(OctoStore.MAX_WAIT_SECONDS,
          (remaining + TimeUnit.MILLISECONDS.toNanos(999)) / TimeUnit.SECONDS.toNanos(1)));
      long from = index;
      LockList res;
      try {
        res = client.call(client.requestTimeout().plusSeconds(seconds),
            l -> l.listLocks(null, null, prefix, from, seconds, null));
      } catch (OctoStoreException e) {
        if (e.status() != 429 && e.status() != 503) {
          throw e;
        }
        long pause = e.retryAfter().orElse(DEFAULT_BACKOFF).toNanos();
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return Optional.empty();
        }
        TimeUnit.NANOSECONDS.sleep(Math.max(TimeUnit.MILLISECONDS.toNanos(10), Math.min(pause, left)));
        continue;
      }
      List<LockStatus> changes = res.getChanges() == null ? List.of() : res.getChanges();
      boolean complete = res.getComplete() == null || res.getComplete();
      if (res.getIndex() != null) {
        index = res.getIndex();
      }
      if (!changes.isEmpty() || !complete) {
        return Optional.of(new Changes(index, changes, complete));
      }
    }
  }

  /** Ends the watch; a request in flight still finishes. */
  @Override
  public void close() {
    closed = true;
  }
}
