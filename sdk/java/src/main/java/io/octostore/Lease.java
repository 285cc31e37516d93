package io.octostore;

import io.octostore.client.model.AcquireResult;
import io.octostore.client.model.ReleaseRequest;
import io.octostore.client.model.RenewRequest;
import io.octostore.client.model.RenewResult;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A held lock: renewed in the background at the server's {@code renew_after_ms} until
 * {@link #close()} releases it, and reported lost (once, to every {@link LossListener} and
 * through {@link #lost()}) when a renewal finds it gone or its TTL runs out unrenewed.
 *
 * <pre>{@code
 * try (Lease lease = client.lock("nightly-report")) {
 *   lease.onLost((l, why) -> worker.cancel());
 *   storage.write(report, lease.fencingToken());
 * }
 * }</pre>
 *
 * <p>The client's view of the deadline is counted from the grant as the server reported it:
 * the TTL asked for, or longer when the server says so ({@code renew_after_ms} is a third of the time left),
 * from the moment the request was sent (or, for a blocking acquire, answered), on the local
 * monotonic clock. Every request made for the lease is bounded by what is left of it, so a
 * stalled server makes the loss signal fire when the lease ends. Thread-safe.
 *
 * <p>A lease taken through a {@link Session} has no TTL of its own and is not renewed on
 * its own: the session's keep-alive keeps it, and it ends with the session. Closing the
 * session releases it; a session lost or orphaned makes it lost
 * ({@link LossReason#SESSION_ENDED}).
 */
public final class Lease implements AutoCloseable {
  /** The shortest pause between two renewal attempts after a failure. */
  private static final long MIN_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
  /** The longest pause between two renewal attempts after a failure. */
  private static final long MAX_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

  private enum State { HELD, RELEASED, LOST }

  private final OctoStore client;
  private final String name;
  private final UUID id;
  private final long fencingToken;
  private final String metadata;
  private final String owner;
  private final Session session;
  private final List<LossListener> listeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<LossReason> lost = new CompletableFuture<>();

  private final Object mu = new Object();
  private State state = State.HELD;
  private boolean autoRenew;
  private int ttlSeconds;
  private Instant expiresAt;
  private long deadlineNanos;
  private long renewAfterNanos;
  private Long renewAfterHintMs;
  private ScheduledFuture<?> next;

  Lease(OctoStore client, String name, AcquireResult granted, LockOptions options, long baseNanos, String owner,
      Session session) {
    this.client = client;
    this.name = name;
    this.owner = owner;
    this.session = session;
    this.id = granted.getLeaseId();
    this.fencingToken = granted.getFencingToken();
    this.metadata = options.metadata();
    this.autoRenew = options.autoRenew();
    this.ttlSeconds = Math.toIntExact(options.ttl().toSeconds());
    client.track(this, true);
    synchronized (mu) {
      deadlineNanos = baseNanos;
      if (session != null) {
        // The session's keep-alive renews it; it has no deadline of its own.
        autoRenew = false;
        ttlSeconds = Math.toIntExact(session.ttl().toSeconds());
        expiresAt = granted.getExpiresAt().toInstant();
        renewAfterHintMs = granted.getRenewAfterMs();
      } else {
        update(granted.getExpiresAt(), granted.getRenewAfterMs(), baseNanos);
        schedule(renewAfterNanos);
      }
    }
    if (session != null) {
      session.bind(this);
    }
  }

  /** The session the lease is bound to, when it was taken through one. */
  public Optional<Session> session() {
    return Optional.ofNullable(session);
  }

  /** The holder name the lease was acquired with (the client's owner unless overridden). */
  public String owner() {
    return owner;
  }

  /** The lock's name. */
  public String name() {
    return name;
  }

  /** The lease id; only the holder knows it. */
  public UUID id() {
    return id;
  }

  /**
   * The fencing token of this grant: larger than every token issued before it. Send it with
   * every write to the resource the lock protects.
   */
  public long fencingToken() {
    return fencingToken;
  }

  /** The metadata published with the lease, or {@code null}. */
  public String metadata() {
    return metadata;
  }

  /** When the lease ends unless renewed, as the server last reported it. */
  public Instant expiresAt() {
    if (session != null) {
      Instant s = session.expiresAt();
      synchronized (mu) {
        return s.isAfter(expiresAt) ? s : expiresAt;
      }
    }
    synchronized (mu) {
      return expiresAt;
    }
  }

  /**
   * When the server last suggested renewing, counted from its last grant or renewal; empty
   * when it gave no hint (the client then renews at a third of the TTL).
   */
  public Optional<Duration> renewAfter() {
    synchronized (mu) {
      return Optional.ofNullable(renewAfterHintMs).map(Duration::ofMillis);
    }
  }

  /** The TTL the lease is renewed with, in whole seconds. */
  public Duration ttl() {
    synchronized (mu) {
      return Duration.ofSeconds(ttlSeconds);
    }
  }

  /** Whether the lease is still believed held: not released, not lost. */
  public boolean isHeld() {
    synchronized (mu) {
      return state == State.HELD;
    }
  }

  /** Whether the lease was lost (not released by this handle). */
  public boolean isLost() {
    synchronized (mu) {
      return state == State.LOST;
    }
  }

  /** Why the lease was lost, if it was. */
  public Optional<LossReason> lossReason() {
    return Optional.ofNullable(lost.getNow(null));
  }

  /**
   * Completes with the reason when the lease is lost; cancelled when it is released. A copy:
   * completing it does not affect the lease.
   */
  public CompletableFuture<LossReason> lost() {
    CompletableFuture<LossReason> view = new CompletableFuture<>();
    lost.whenComplete((reason, released) -> {
      if (released == null) {
        view.complete(reason);
      } else {
        view.cancel(false);
      }
    });
    return view;
  }

  /**
   * Registers a listener told once when the lease is lost, on the renewer thread. A lease
   * lost already tells it at once, on the calling thread.
   */
  public Lease onLost(LossListener listener) {
    listeners.add(listener);
    LossReason reason = lost.getNow(null);
    if (reason != null && listeners.remove(listener)) {
      listener.onLost(this, reason);
    }
    return this;
  }

  /** Renews the lease now for its TTL and returns its new expiry. */
  public Instant renew() {
    int ttl;
    synchronized (mu) {
      ttl = ttlSeconds;
    }
    return renew(Duration.ofSeconds(ttl));
  }

  /**
   * Renews the lease now: it ends {@code ttl} from now (never earlier than it already
   * would), and later background renewals use this TTL. Returns the new expiry.
   *
   * @throws OctoStoreException with code {@code lease_not_current} when the lease is gone
   *     (the lease is then lost)
   */
  public Instant renew(Duration ttl) {
    if (session != null) {
      // The lease lives as long as its session: renewing it is renewing the session.
      session.renew();
      return expiresAt();
    }
    int seconds = Math.toIntExact(ttl.toSeconds());
    long sent = System.nanoTime();
    RenewResult r;
    try {
      r = client.call(requestTimeout(), l -> l.renewLock(name, new RenewRequest().leaseId(id).ttlSeconds(seconds)));
    } catch (OctoStoreException ex) {
      if (ex.is("lease_not_current")) {
        markLost(LossReason.NOT_CURRENT);
      }
      throw ex;
    }
    synchronized (mu) {
      ttlSeconds = seconds;
      if (state == State.HELD) {
        update(r.getExpiresAt(), r.getRenewAfterMs(), sent);
        schedule(renewAfterNanos);
      } else {
        expiresAt = r.getExpiresAt().toInstant();
      }
      return expiresAt;
    }
  }

  /**
   * Gives the lock back now and stops renewing. Always asks the server: releasing twice
   * gets {@code lease_not_current}.
   *
   * @throws OctoStoreException with code {@code lease_not_current} when the lease had
   *     already ended (it is then lost), or when the server cannot be reached (the lease then
   *     ends by its TTL)
   */
  public void release() {
    Duration timeout;
    synchronized (mu) {
      autoRenew = false;
      cancelNext();
      timeout = state == State.HELD ? requestTimeout() : client.requestTimeout();
    }
    try {
      client.call(timeout, l -> l.releaseLock(name, new ReleaseRequest().leaseId(id)));
    } catch (OctoStoreException ex) {
      if (ex.is("lease_not_current")) {
        markLost(LossReason.NOT_CURRENT);
      } else {
        synchronized (mu) {
          // Unreleased: nothing renews it now, so it ends at its deadline.
          if (state == State.HELD) {
            schedule(deadlineNanos - System.nanoTime());
          }
        }
      }
      throw ex;
    }
    synchronized (mu) {
      if (state != State.HELD) {
        return;
      }
      state = State.RELEASED;
    }
    client.track(this, false);
    if (session != null) {
      session.unbind(this);
    }
    lost.cancel(false);
  }

  /**
   * Its session ended: closed (the server released the lease with it) or lost or orphaned
   * (nothing keeps the lease alive any more).
   */
  void sessionEnded(boolean closed) {
    if (!closed) {
      markLost(LossReason.SESSION_ENDED);
      return;
    }
    synchronized (mu) {
      if (state != State.HELD) {
        return;
      }
      state = State.RELEASED;
    }
    client.track(this, false);
    lost.cancel(false);
  }

  /**
   * Releases the lease unless it was released or lost already; after a loss it returns at
   * once without asking the server. A lease that turns out to have ended already is not an
   * error here: the lock is not held either way. The release is bounded by what is left of
   * the lease.
   *
   * @throws OctoStoreException when the server cannot be reached or refuses otherwise
   */
  @Override
  public void close() {
    synchronized (mu) {
      if (state != State.HELD) {
        return;
      }
    }
    if (session == null && deadlineNanos() - System.nanoTime() <= 0) {
      // Its time ran out: lost, whether or not the renewer has noticed yet.
      markLost(LossReason.EXPIRED);
      return;
    }
    try {
      release();
    } catch (OctoStoreException e) {
      if (!e.is("lease_not_current")) {
        throw e;
      }
    }
  }

  @Override
  public String toString() {
    synchronized (mu) {
      return "Lease{name=" + name + ", fencingToken=" + fencingToken + ", state=" + state + "}";
    }
  }

  /**
   * The time limit of a request made for the lease: the client's request timeout, or what is
   * left of the lease when that is less (at least 1 ms).
   */
  private Duration requestTimeout() {
    if (session != null) {
      return client.requestTimeout();
    }
    long left;
    synchronized (mu) {
      left = deadlineNanos - System.nanoTime();
    }
    long limit = client.requestTimeout().toNanos();
    if (left <= 0) {
      // Past its time the lease is over for the helper; a caller's explicit request still
      // asks the server, with the whole request timeout.
      return client.requestTimeout();
    }
    return Duration.ofNanos(Math.max(TimeUnit.MILLISECONDS.toNanos(1), Math.min(limit, left)));
  }

  /**
   * Records a grant or renewal as the server reported it, counted from {@code baseNanos};
   * the caller holds mu.
   */
  private void update(OffsetDateTime expires, Long renewAfterMs, long baseNanos) {
    expiresAt = expires.toInstant();
    // A grant or renewal lasts at least the TTL asked for (the server never shortens a
    // lease), and longer when the server says so: renew_after_ms is a third of the time it
    // says is left (a re-acquire with a shorter TTL keeps the longer expiry).
    long left = TimeUnit.SECONDS.toNanos(ttlSeconds);
    if (renewAfterMs != null) {
      left = Math.max(left, TimeUnit.MILLISECONDS.toNanos(renewAfterMs * 3));
    }
    long deadline = baseNanos + left;
    if (deadline - deadlineNanos > 0) {
      deadlineNanos = deadline;
    }
    renewAfterHintMs = renewAfterMs;
    renewAfterNanos = renewAfterMs != null
        ? TimeUnit.MILLISECONDS.toNanos(renewAfterMs)
        : TimeUnit.SECONDS.toNanos(ttlSeconds) / 3;
  }

  /**
   * Runs {@link #tick()} after delay, or at the deadline if that comes first; the caller
   * holds mu.
   */
  private void schedule(long delayNanos) {
    cancelNext();
    if (session != null) {
      return; // The session keeps it alive and tells it when it ends.
    }
    long untilDeadline = deadlineNanos - System.nanoTime();
    long delay = Math.max(0, autoRenew ? Math.min(delayNanos, untilDeadline) : untilDeadline);
    try {
      next = client.scheduleRenewal(this::tick, delay);
    } catch (RejectedExecutionException closed) {
      next = null; // The client was closed: nothing renews or watches this lease any more.
    }
  }

  private void cancelNext() {
    if (next != null) {
      next.cancel(false);
      next = null;
    }
  }

  /** Renews when it is time, or declares the lease lost when its deadline has passed. */
  private void tick() {
    long sent = System.nanoTime();
    int ttl;
    synchronized (mu) {
      if (state != State.HELD) {
        return;
      }
      if (!autoRenew && sent - deadlineNanos < 0) {
        schedule(deadlineNanos - sent);
        return;
      }
      ttl = ttlSeconds;
    }
    if (sent - deadlineNanos() >= 0) {
      // Not renewed in time: the server may have handed the lock on already.
      markLost(LossReason.EXPIRED);
      return;
    }
    try {
      RenewResult r = client.call(requestTimeout(), l -> l.renewLock(name, new RenewRequest().leaseId(id).ttlSeconds(ttl)));
      synchronized (mu) {
        if (state == State.HELD) {
          update(r.getExpiresAt(), r.getRenewAfterMs(), sent);
          schedule(renewAfterNanos);
        }
      }
    } catch (OctoStoreException ex) {
      if (ex.is("lease_not_current")) {
        markLost(LossReason.NOT_CURRENT);
        return;
      }
      // Anything else (no answer, 503, 429, even a rejected token) is retried until the
      // deadline: only the server can say the lease is gone before then.
      synchronized (mu) {
        if (state == State.HELD) {
          long left = deadlineNanos - System.nanoTime();
          schedule(Math.max(MIN_RETRY_NANOS, Math.min(MAX_RETRY_NANOS, left / 3)));
        }
      }
    } catch (RuntimeException e) {
      synchronized (mu) {
        if (state == State.HELD) {
          schedule(MAX_RETRY_NANOS);
        }
      }
    }
  }

  private long deadlineNanos() {
    synchronized (mu) {
      return deadlineNanos;
    }
  }

  private void markLost(LossReason reason) {
    synchronized (mu) {
      if (state != State.HELD) {
        return;
      }
      state = State.LOST;
      cancelNext();
    }
    client.track(this, false);
    if (session != null) {
      session.unbind(this);
    }
    announce(reason);
  }

  private void announce(LossReason reason) {
    lost.complete(reason);
    for (LossListener l : listeners) {
      if (listeners.remove(l)) {
        try {
          l.onLost(this, reason);
        } catch (RuntimeException e) {
          // A listener's failure must not stop the others from being told.
        }
      }
    }
  }
}
