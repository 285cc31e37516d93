package io.octostore;

import io.octostore.client.model.LockStatus;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Leader election on one lock: the leader is whoever holds it, and the value it campaigned
 * with (an address, say) is the lock's metadata for everyone in the account to read.
 *
 * <pre>{@code
 * Election election = client.election("scheduler");
 * try (Lease leadership = election.campaign("10.0.0.7:8080")) {  // waits until elected
 *   leadership.onLost((l, why) -> stopLeading());
 *   lead(leadership.fencingToken());
 * }                                                              // resigns
 * }</pre>
 */
public final class Election {
  /** How long one watch request may wait; the observer asks again after it. */
  static final Duration WATCH_WAIT = Duration.ofSeconds(30);

  private final OctoStore client;
  private final String name;
  private volatile Lease leadership;

  Election(OctoStore client, String name) {
    this.client = client;
    this.name = Objects.requireNonNull(name, "name");
  }

  /** The election's lock name. */
  public String name() {
    return name;
  }

  /**
   * Waits in line until elected, then holds the leadership (a 15-second lease renewed in the
   * background) with {@code value} published as the leader value.
   */
  public Lease campaign(String value) throws InterruptedException {
    return campaign(value, LockOptions.defaults());
  }

  /**
   * Waits in line until elected or {@link LockOptions#maxWait()} passes, with
   * {@code value} published as the leader value.
   *
   * @throws LockTimeoutException when the wait ends before this candidate is elected
   */
  public Lease campaign(String value, LockOptions options) throws InterruptedException {
    Lease lease = client.lock(name, options.withMetadata(value));
    leadership = lease;
    return lease;
  }

  /**
   * The current leader, or empty when nobody leads: the lock is free, or a lock-delay keeps
   * it after the leader's lease expired (held by nobody until {@code available_at}).
   */
  public Optional<Leader> leader() {
    return leaderOf(client.status(name));
  }

  /**
   * Calls {@code listener} with the current leader (or empty) and again after every change,
   * from a daemon thread that long-polls the lock, until the returned observer is closed.
   * Empty means nobody leads: the lock is free, or a lock-delay keeps it after the leader's
   * lease expired. Errors are retried after a pause.
   */
  public Observer observe(Consumer<Optional<Leader>> listener) {
    Observer o = new Observer(listener);
    o.thread.start();
    return o;
  }

  /** Gives up the leadership this election's last {@link #campaign} won, if still held. */
  public void resign() {
    Lease lease = leadership;
    if (lease != null) {
      leadership = null;
      lease.close();
    }
  }

  /**
   * The leader a lock's state names. A lock kept only by a lock-delay is {@code held} with
   * no holder and no fencing token: nobody leads it.
   */
  static Optional<Leader> leaderOf(LockStatus s) {
    if (s.getStatus() != LockStatus.StatusEnum.HELD || s.getHolderId() == null || s.getHolderId().isEmpty()
        || s.getFencingToken() == null) {
      return Optional.empty();
    }
    return Optional.of(new Leader(
        s.getHolderId(),
        s.getMetadata(),
        s.getFencingToken(),
        s.getExpiresAt() == null ? null : s.getExpiresAt().toInstant(),
        s.getRevision() == null ? 0 : s.getRevision()));
  }

  /** A running observation of an election; {@link #close()} stops it. */
  public final class Observer implements AutoCloseable {
    private final Consumer<Optional<Leader>> listener;
    private final Thread thread;
    private volatile boolean closed;

    private Observer(Consumer<Optional<Leader>> listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      this.thread = new Thread(this::run, "octostore-observe-" + name);
      this.thread.setDaemon(true);
    }

    private void run() {
      Long index = null;
      while (!closed) {
        try {
          LockStatus s = index == null ? client.status(name) : client.watch(name, index, WATCH_WAIT);
          Long revision = s.getRevision();
          if (closed) {
            return;
          }
          if (index == null || revision == null || revision > index) {
            listener.accept(leaderOf(s));
          }
          if (revision == null) {
            // A server without revisions cannot be watched: look again after a pause.
            Thread.sleep(OctoStore.DEFAULT_RETRY.toMillis() * 4);
          }
          index = revision != null ? revision : 0L;
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          if (closed) {
            return;
          }
          try {
            Thread.sleep(1000);
          } catch (InterruptedException stop) {
            return;
          }
        }
      }
    }

    /** Stops observing; the listener is not called after this returns. */
    @Override
    public void close() {
      closed = true;
      thread.interrupt();
      if (Thread.currentThread() == thread) {
        return; // Closed from inside the listener: the loop ends when it returns.
      }
      boolean interrupted = false;
      while (thread.isAlive()) {
        try {
          thread.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
