package io.octostore;

import io.octostore.client.model.CreateSessionRequest;
import io.octostore.client.model.SessionResult;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A lease on this process's liveness that many locks share, modelled on etcd's
 * {@code concurrency.Session}. {@link OctoStore#openSession} creates it and the client's
 * scheduler renews it every {@code renew_after_ms}; locks and semaphores taken through it
 * ({@link #lock}, {@link #tryLock}, {@link #semaphore}) send its {@code session_id} and no
 * TTL, have no TTL of their own, are not renewed on their own, and end when it does.
 *
 * <pre>{@code
 * try (Session session = client.openSession()) {
 *   session.onLost((s, why) -> worker.cancel());
 *   try (Lease leader = session.lock("leader.billing")) {
 *     storage.write(report, leader.fencingToken());
 *   }
 * } // deletes the session: every lock still bound to it is released at once
 * }</pre>
 *
 * <p>{@link #close()} deletes the session, which releases every lock bound to it (no
 * lock-delay applies). {@link #orphan()} only stops the keep-alive, as a killed process
 * does: the server ends the session and its locks one TTL after the last renewal, and their
 * lock-delays apply then.
 *
 * <p>The loss signal ({@link #lost()}, {@link #onLost}, {@link #isLost()}) fires once when
 * the server answers a renewal or an acquire with {@code session_not_found}, or when no
 * renewal got through before the local deadline: three times {@code renew_after_ms} after
 * the last successful renewal was sent (the server's TTL counted from a moment no later than
 * its own), so an unreachable or stalled server makes it fire when the session would end,
 * not after an HTTP timeout. Closing or orphaning is not a loss. As with any lease, a stalled
 * process learns of a loss only when it runs again: send the locks' fencing tokens to what
 * they protect. Thread-safe.
 */
public final class Session implements AutoCloseable {
  /** The TTL of a session opened without one. */
  public static final Duration DEFAULT_TTL = Duration.ofSeconds(15);

  /** The shortest pause between two keep-alive attempts after a failure. */
  private static final long MIN_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
  /** The longest pause between two keep-alive attempts after a failure. */
  private static final long MAX_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** Where a session is in its life. */
  public enum State {
    /** Kept alive in the background. */
    ALIVE,
    /** Ended without a close: the server no longer knows it, or no renewal got through in time. */
    LOST,
    /** Deleted by {@link Session#close()}; its locks were released. */
    CLOSED,
    /**
     * No longer kept alive ({@link Session#orphan()}, or a close that could not reach the
     * server): the server ends it one TTL after its last renewal.
     */
    ORPHANED
  }

  private final OctoStore client;
  private final String id;
  private final Duration ttl;
  private final Set<Lease> bound = ConcurrentHashMap.newKeySet();
  private final List<SessionLossListener> listeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<LossReason> lost = new CompletableFuture<>();

  private final Object mu = new Object();
  private State state = State.ALIVE;
  /** Set by close and orphan: nothing renews any more and no answer counts as a loss. */
  private boolean stopping;
  private Instant expiresAt;
  private long renewAfterMs;
  private long deadlineNanos;
  private OctoStoreException lastError;
  private OctoStoreException lossCause;
  private ScheduledFuture<?> next;

  private Session(OctoStore client, SessionResult created, long sentNanos) {
    this.client = client;
    this.id = created.getSessionId();
    this.ttl = Duration.ofSeconds(created.getTtlSeconds());
    synchronized (mu) {
      deadlineNanos = sentNanos;
      record(created, sentNanos);
      schedule(renewDelayNanos());
    }
    client.track(this, true);
  }

  /** Creates the session on the server and starts its keep-alive. */
  static Session open(OctoStore client, Duration ttl) {
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.toMillis() % 1000 != 0 || ttl.toSeconds() < 1) {
      throw new IllegalArgumentException("a session's ttl must be whole seconds, at least 1: " + ttl);
    }
    int seconds = Math.toIntExact(ttl.toSeconds());
    long sent = System.nanoTime();
    SessionResult r = client.callSessions(client.requestTimeout(),
        s -> s.createSession(new CreateSessionRequest().ttlSeconds(seconds)));
    return new Session(client, r, sent);
  }

  /** The session's id ({@code ses_…}), for acquires made without this helper ({@code session_id}). */
  public String id() {
    return id;
  }

  /** How long the server keeps the session, and its locks, after the last renewal. */
  public Duration ttl() {
    return ttl;
  }

  /** When the server ends the session unless it is renewed, as of the latest renewal. */
  public Instant expiresAt() {
    synchronized (mu) {
      return expiresAt;
    }
  }

  /** The server's latest hint for the next renewal. */
  public Duration renewAfter() {
    synchronized (mu) {
      return Duration.ofMillis(renewAfterMs);
    }
  }

  /** Where the session is in its life. */
  public State state() {
    synchronized (mu) {
      return state;
    }
  }

  /** Whether the session was lost (closing or orphaning it is not a loss). */
  public boolean isLost() {
    return state() == State.LOST;
  }

  /** Why the session was lost, if it was. */
  public Optional<LossReason> lossReason() {
    return Optional.ofNullable(lost.getNow(null));
  }

  /**
   * Completes with the reason when the session is lost; cancelled when it is closed or
   * orphaned. A copy: completing it does not affect the session.
   */
  public CompletableFuture<LossReason> lost() {
    CompletableFuture<LossReason> view = new CompletableFuture<>();
    lost.whenComplete((reason, ended) -> {
      if (ended == null) {
        view.complete(reason);
      } else {
        view.cancel(false);
      }
    });
    return view;
  }

  /**
   * Registers a listener told once when the session is lost, on a client thread. A session
   * lost already tells it at once, on the calling thread.
   */
  public Session onLost(SessionLossListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
    LossReason reason = lost.getNow(null);
    if (reason != null && listeners.remove(listener)) {
      listener.onLost(this, reason);
    }
    return this;
  }

  /**
   * Takes the lock through the session, waiting in line as long as it takes. The lease is
   * bound to the session: it lives as long as the session and is not renewed on its own.
   *
   * @throws SessionLostException when the session is lost, or the server answers that it no
   *     longer knows it (the session is then lost)
   * @throws IllegalStateException when the session was closed or orphaned
   */
  public Lease lock(String name) throws InterruptedException {
    return lock(name, LockOptions.defaults());
  }

  /**
   * Takes the lock through the session, waiting in line up to {@link LockOptions#maxWait()};
   * the options' TTL and auto-renewal do not apply (the session's TTL rules).
   *
   * @throws LockTimeoutException when the wait ends with the lock still held by someone else
   * @throws SessionLostException when the session is lost, or the server answers that it no
   *     longer knows it (the session is then lost)
   * @throws IllegalStateException when the session was closed or orphaned
   */
  public Lease lock(String name, LockOptions options) throws InterruptedException {
    return client.lock(new OctoStore.Acquire(name, Objects.requireNonNull(options, "options"), null, this));
  }

  /** Takes the lock through the session if it is free (one attempt). */
  public LockAttempt tryLock(String name) {
    return tryLock(name, LockOptions.defaults());
  }

  /**
   * Takes the lock through the session if it is free, asking once; when someone else holds
   * it the attempt says who, nothing is thrown.
   *
   * @throws SessionLostException when the session is lost, or the server answers that it no
   *     longer knows it (the session is then lost)
   * @throws IllegalStateException when the session was closed or orphaned
   */
  public LockAttempt tryLock(String name, LockOptions options) {
    return client.tryLock(new OctoStore.Acquire(name, Objects.requireNonNull(options, "options"), null, this));
  }

  /** Runs {@code body} holding the lock through the session, as {@link OctoStore#withLock} does. */
  public <T, E extends Exception> T withLock(String name, LockOptions options, LockedBody<T, E> body)
      throws E, InterruptedException {
    Objects.requireNonNull(body, "body");
    return OctoStore.runHolding(name, lock(name, options), body);
  }

  /** A semaphore of {@code maxHolders} places whose leases are bound to this session. */
  public Semaphore semaphore(String name, int maxHolders) {
    return new Semaphore(client, name, maxHolders, this);
  }

  /**
   * Renews the session now (the keep-alive does this on its own) and returns its new expiry.
   *
   * @throws SessionLostException when the server no longer knows the session (it is then lost)
   */
  public Instant renew() {
    ensureUsable();
    long sent = System.nanoTime();
    SessionResult r;
    try {
      r = client.callSessions(client.requestTimeout(), s -> s.renewSession(id));
    } catch (OctoStoreException e) {
      if (e.is(SessionLostException.CODE)) {
        serverForgot(e);
        throw new SessionLostException(id, LossReason.NOT_CURRENT, e);
      }
      throw e;
    }
    synchronized (mu) {
      if (state == State.ALIVE && !stopping) {
        record(r, sent);
        schedule(renewDelayNanos());
      }
      return expiresAt;
    }
  }

  /**
   * Stops the keep-alive and deletes the session on the server, which releases every lock
   * bound to it at once (no lock-delay). Idempotent. After a loss it returns without
   * raising (the session is gone, or about to be). When the server cannot be reached the
   * session is left to expire, as after {@link #orphan()}, and the error comes out.
   *
   * @throws OctoStoreException when the server refused the delete or could not be reached
   */
  @Override
  public void close() {
    State before;
    synchronized (mu) {
      if (state == State.CLOSED) {
        return;
      }
      before = state;
      stopping = true;
      cancelNext();
    }
    if (before == State.LOST && lost.getNow(null) == LossReason.NOT_CURRENT) {
      end(State.CLOSED);
      return; // The server said it no longer has it.
    }
    try {
      client.callSessions(client.requestTimeout(), s -> {
        s.deleteSession(id);
        return null;
      });
    } catch (OctoStoreException e) {
      if (!e.is(SessionLostException.CODE)) {
        if (before == State.LOST) {
          end(State.CLOSED);
          return;
        }
        end(State.ORPHANED);
        throw e;
      }
    }
    end(State.CLOSED);
  }

  /**
   * Stops the keep-alive without deleting the session, as etcd's {@code Session.Orphan}
   * does (and as a killed process would): the server ends the session and every lock bound
   * to it one TTL after the last renewal, and their lock-delays apply then. Not a loss: the
   * loss signal does not fire; the bound leases count as lost at once
   * ({@link LossReason#SESSION_ENDED}), since nothing keeps them alive.
   */
  public void orphan() {
    synchronized (mu) {
      if (state != State.ALIVE) {
        return;
      }
      stopping = true;
      cancelNext();
    }
    end(State.ORPHANED);
  }

  @Override
  public String toString() {
    synchronized (mu) {
      return "Session{id=" + id + ", state=" + state + "}";
    }
  }

  /** Throws unless locks may be taken through the session. */
  void ensureUsable() {
    synchronized (mu) {
      switch (state) {
        case LOST:
          throw new SessionLostException(id, lost.getNow(LossReason.EXPIRED), lossCause);
        case CLOSED:
          throw new IllegalStateException("octostore: session " + id + " is closed");
        case ORPHANED:
          throw new IllegalStateException("octostore: session " + id + " is orphaned: nothing keeps it alive");
        default:
          return;
      }
    }
  }

  /** The server answered {@code session_not_found} for this session: it is lost. */
  void serverForgot(OctoStoreException e) {
    lose(LossReason.NOT_CURRENT, e);
  }

  void bind(Lease lease) {
    bound.add(lease);
    boolean ended;
    synchronized (mu) {
      ended = state != State.ALIVE;
    }
    if (ended && bound.remove(lease)) {
      // The session ended while the grant was on its way back.
      lease.sessionEnded(state() == State.CLOSED);
    }
  }

  void unbind(Lease lease) {
    bound.remove(lease);
  }

  /** Takes in a create or renewal answered after {@code sentNanos}; estimates only move later. */
  private void record(SessionResult r, long sentNanos) {
    renewAfterMs = r.getRenewAfterMs() != null ? r.getRenewAfterMs() : ttl.toMillis() / 3;
    // renew_after_ms is a third of what the server had left when it answered, after the send.
    long deadline = sentNanos + TimeUnit.MILLISECONDS.toNanos(3 * renewAfterMs);
    if (deadline - deadlineNanos > 0) {
      deadlineNanos = deadline;
    }
    Instant e = r.getExpiresAt().toInstant();
    if (expiresAt == null || e.isAfter(expiresAt)) {
      expiresAt = e;
    }
  }

  private long renewDelayNanos() {
    return Math.max(TimeUnit.MILLISECONDS.toNanos(10), TimeUnit.MILLISECONDS.toNanos(renewAfterMs));
  }

  /** Runs {@link #tick()} after {@code delayNanos}, or at the deadline if that comes first; the caller holds mu. */
  private void schedule(long delayNanos) {
    cancelNext();
    if (state != State.ALIVE || stopping) {
      return;
    }
    long delay = Math.max(0, Math.min(delayNanos, deadlineNanos - System.nanoTime()));
    try {
      next = client.scheduleRenewal(this::tick, delay);
    } catch (RejectedExecutionException closed) {
      next = null; // The client was closed: nothing keeps the session alive any more.
    }
  }

  private void cancelNext() {
    if (next != null) {
      next.cancel(false);
      next = null;
    }
  }

  /** One keep-alive: renews, or declares the session lost when its deadline has passed. */
  private void tick() {
    long sent = System.nanoTime();
    long left;
    synchronized (mu) {
      if (state != State.ALIVE || stopping) {
        return;
      }
      left = deadlineNanos - sent;
    }
    if (left <= 0) {
      lose(LossReason.EXPIRED, lastError());
      return;
    }
    // Bounded by what is left, so a stalled server makes the loss fire at the deadline.
    Duration timeout = Duration.ofNanos(Math.max(TimeUnit.MILLISECONDS.toNanos(1),
        Math.min(client.requestTimeout().toNanos(), left)));
    try {
      SessionResult r = client.callSessions(timeout, s -> s.renewSession(id));
      synchronized (mu) {
        lastError = null;
        if (state == State.ALIVE && !stopping) {
          record(r, sent);
          schedule(renewDelayNanos());
        }
      }
    } catch (OctoStoreException e) {
      if (e.is(SessionLostException.CODE)) {
        lose(LossReason.NOT_CURRENT, e);
        return;
      }
      // Anything else (no answer, 429, 503) is retried until the deadline: only the
      // server can say the session is gone before then.
      synchronized (mu) {
        lastError = e;
        long now = System.nanoTime();
        long pause = Math.max(MIN_RETRY_NANOS, Math.min(MAX_RETRY_NANOS, (deadlineNanos - now) / 3));
        if (e.retryAfter().isPresent()) {
          pause = Math.max(pause, e.retryAfter().get().toNanos());
        }
        schedule(pause);
      }
    } catch (RuntimeException e) {
      synchronized (mu) {
        schedule(MAX_RETRY_NANOS);
      }
    }
  }

  private OctoStoreException lastError() {
    synchronized (mu) {
      return lastError;
    }
  }

  /** Marks the session lost (once, and only while alive and not being closed) and tells everyone. */
  private void lose(LossReason reason, OctoStoreException cause) {
    synchronized (mu) {
      if (state != State.ALIVE || stopping) {
        return;
      }
      state = State.LOST;
      lossCause = cause;
      cancelNext();
    }
    client.track(this, false);
    endLeases(false);
    lost.complete(reason);
    for (SessionLossListener l : listeners) {
      if (listeners.remove(l)) {
        try {
          l.onLost(this, reason);
        } catch (RuntimeException ignored) {
          // A listener's failure must not stop the others from being told.
        }
      }
    }
  }

  /** Moves to CLOSED or ORPHANED and tells the bound leases. */
  private void end(State to) {
    State before;
    synchronized (mu) {
      before = state;
      if (before == State.CLOSED || (before == to)) {
        return;
      }
      state = to;
      cancelNext();
    }
    client.track(this, false);
    if (before == State.ALIVE) {
      endLeases(to == State.CLOSED);
      lost.cancel(false);
    } else if (before == State.ORPHANED && to == State.CLOSED) {
      // A close after an orphan deleted the session; its leases were already lost.
      lost.cancel(false);
    }
  }

  private void endLeases(boolean closed) {
    for (Lease l : List.copyOf(bound)) {
      if (bound.remove(l)) {
        l.sessionEnded(closed);
      }
    }
  }
}
