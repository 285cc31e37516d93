package io.octostore;

import io.octostore.client.ApiClient;
import io.octostore.client.ApiException;
import io.octostore.client.api.LocksApi;
import io.octostore.client.api.SessionsApi;
import io.octostore.client.model.AcquireRequest;
import io.octostore.client.model.AcquireResult;
import io.octostore.client.model.LockList;
import io.octostore.client.model.LockStatus;
import java.net.InetAddress;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * An OctoStore client: locks that renew themselves, leader election, and the generated API
 * underneath for everything else.
 *
 * <pre>{@code
 * OctoStore client = OctoStore.connect("http://127.0.0.1:3000", System.getenv("OCTOSTORE_TOKEN"));
 * try (Lease lease = client.lock("nightly-report")) {
 *   storage.write(report, lease.fencingToken());
 * }
 * }</pre>
 *
 * <p>A lease is not a mutex: a process can stall (GC, swap, a paused VM) past its TTL and
 * still believe it holds the lock. Pass {@link Lease#fencingToken()} to whatever you protect
 * and have it refuse writes carrying a token smaller than the largest it has seen.
 *
 * <p>Defaults: locks and elections are 15-second leases; every request is bounded by a
 * 10-second timeout ({@link Builder#requestTimeout}), and a request made for a lease also by
 * what is left of it, so a stalled server makes the loss signal fire when the lease ends.
 * Each client sends its own unique {@link #owner()} ({@code <host>-<pid>-<8 hex>}) with every
 * acquire, so two clients sharing one token still exclude each other. Several base URLs may
 * be given: a transport error or a 503 moves the request on to the next.
 *
 * <p>Thread-safe. {@link #close()} stops the background renewals of every lease it made
 * (they then expire by their TTL); release leases first.
 */
public final class OctoStore implements AutoCloseable {
  /** The longest a server holds a blocking request (the spec's {@code wait_seconds} maximum). */
  static final int MAX_WAIT_SECONDS = 60;

  /** Pause before asking again when a server answered {@code held} without a retry hint. */
  static final Duration DEFAULT_RETRY = Duration.ofMillis(250);

  private static final SecureRandom RANDOM = new SecureRandom();
  /** The request timeout a call runs with, read by the request interceptor. */
  private static final ThreadLocal<Duration> TIMEOUT = new ThreadLocal<>();

  /** One base URL with its generated client. */
  private record Endpoint(String url, ApiClient api, LocksApi locks, SessionsApi sessions) {}

  /** One acquire as the helpers make it: a lock or a semaphore, alone or through a session. */
  record Acquire(String name, LockOptions options, Integer maxHolders, Session session) {}

  private final List<Endpoint> endpoints;
  private final AtomicInteger preferred = new AtomicInteger();
  private final Duration requestTimeout;
  private final String owner;
  private final ScheduledExecutorService scheduler;
  private final boolean ownsScheduler;
  /** Runs renewals, so a renewal stuck on one lease's stalled server delays no other lease. */
  private final java.util.concurrent.ExecutorService renewers = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "octostore-renew");
    t.setDaemon(true);
    return t;
  });
  private final Set<Lease> held = ConcurrentHashMap.newKeySet();
  private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
  private volatile Thread shutdownHook;

  private OctoStore(Builder b) {
    if (b.baseUrls.isEmpty()) {
      throw new IllegalArgumentException("octostore: at least one base URL is needed");
    }
    List<Endpoint> eps = new ArrayList<>();
    for (String url : b.baseUrls) {
      ApiClient c = newApiClient(b, url);
      eps.add(new Endpoint(c.getBaseUri(), c, new LocksApi(c), new SessionsApi(c)));
    }
    this.endpoints = List.copyOf(eps);
    this.requestTimeout = b.requestTimeout;
    this.owner = b.owner != null ? b.owner : defaultOwner();
    this.ownsScheduler = b.scheduler == null;
    this.scheduler = b.scheduler != null ? b.scheduler : newScheduler();
  }

  /**
   * The default holder name: {@code <host>-<pid>-<8 random hex digits>}, unique per client
   * (printable ASCII without spaces, at most 128 characters, as the server requires).
   */
  static String defaultOwner() {
    String host = System.getenv("HOSTNAME");
    if (host == null || host.isBlank()) {
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (Exception e) {
        host = "localhost";
      }
    }
    host = host.replaceAll("[^!-~]", "_");
    if (host.length() > 80) {
      host = host.substring(0, 80);
    }
    byte[] b = new byte[4];
    RANDOM.nextBytes(b);
    return host + "-" + ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(b);
  }

  /** A client for the server at {@code baseUrl} that sends {@code token} as its bearer token. */
  public static OctoStore connect(String baseUrl, String token) {
    return builder(baseUrl).token(token).build();
  }

  /** A client for several base URLs (tried in order on a transport error or 503). */
  public static OctoStore connect(List<String> baseUrls, String token) {
    return builder(baseUrls).token(token).build();
  }

  /**
   * A client configured from the environment: {@code OCTOSTORE_URL} (default
   * {@code http://127.0.0.1:3000}; several URLs separated by commas) and
   * {@code OCTOSTORE_TOKEN}.
   */
  public static OctoStore fromEnv() {
    String url = System.getenv().getOrDefault("OCTOSTORE_URL", "http://127.0.0.1:3000");
    return builder(List.of(url.split("\\s*,\\s*"))).token(System.getenv("OCTOSTORE_TOKEN")).build();
  }

  /** Starts configuring a client for the server at {@code baseUrl}. */
  public static Builder builder(String baseUrl) {
    return new Builder(List.of(Objects.requireNonNull(baseUrl, "baseUrl")));
  }

  /**
   * Starts configuring a client for several base URLs of one deployment: requests go to the
   * one that answered last and move on to the next on a transport error or a 503.
   */
  public static Builder builder(List<String> baseUrls) {
    return new Builder(List.copyOf(baseUrls));
  }

  /** The holder name this client sends with every acquire (the default one or the builder's). */
  public String owner() {
    return owner;
  }

  /** The request timeout (default 10 s). */
  public Duration requestTimeout() {
    return requestTimeout;
  }

  /**
   * Runs {@code body} while holding the lock and releases it when the body ends, however it
   * ends (waiting in line as {@link #lock(String, LockOptions)} does).
   *
   * <p>An exception from the body always comes out as it is: a release that fails on the way
   * out is attached to it as a suppressed exception. When the body returns normally but the
   * lock was lost while it ran, {@link LockLostException} ({@code lock_lost}) is thrown.
   *
   * @throws LockTimeoutException when the wait ends with the lock still held by someone else
   * @throws LockLostException when the lock was lost while the body ran
   */
  public <T, E extends Exception> T withLock(String name, LockOptions options, LockedBody<T, E> body)
      throws E, InterruptedException {
    Objects.requireNonNull(body, "body");
    return runHolding(name, lock(name, options), body);
  }

  /** Runs {@code body} holding {@code lease} and releases it however the body ends. */
  static <T, E extends Exception> T runHolding(String name, Lease lease, LockedBody<T, E> body) throws E {
    T result;
    try {
      result = body.run(lease);
    } catch (Throwable userError) {
      try {
        lease.close();
      } catch (Throwable releaseError) {
        userError.addSuppressed(releaseError);
      }
      throw userError;
    }
    lease.close();
    if (lease.isLost()) {
      throw new LockLostException(name, lease.lossReason().orElse(LossReason.EXPIRED));
    }
    return result;
  }

  /** {@link #withLock(String, LockOptions, LockedBody)} with the default options. */
  public <T, E extends Exception> T withLock(String name, LockedBody<T, E> body)
      throws E, InterruptedException {
    return withLock(name, LockOptions.defaults(), body);
  }

  /**
   * Opt-in: on JVM shutdown (SIGTERM, SIGINT/Ctrl-C, {@code System.exit}) release every lease
   * this client still holds and so resign its elections, each release bounded by the request
   * timeout. Idempotent; returns this client.
   */
  public OctoStore releaseOnShutdown() {
    synchronized (held) {
      if (shutdownHook == null) {
        Thread t = new Thread(this::releaseAll, "octostore-shutdown");
        Runtime.getRuntime().addShutdownHook(t);
        shutdownHook = t;
      }
    }
    return this;
  }

  /** Releases every lease this client still holds and closes its open sessions, ignoring errors. */
  public void releaseAll() {
    for (Session s : List.copyOf(sessions)) {
      try {
        s.close();
      } catch (RuntimeException ignored) {
        // Best effort: a session not deleted ends by its TTL, and its locks with it.
      }
    }
    for (Lease l : List.copyOf(held)) {
      try {
        l.close();
      } catch (RuntimeException ignored) {
        // Best effort: a lease not released ends by its TTL.
      }
    }
  }

  /**
   * Takes the lock, waiting in line as long as it takes, as a 15-second lease renewed in the
   * background until {@link Lease#close()}.
   *
   * @throws OctoStoreException when the server refuses (bad name, lock limit, bad token)
   */
  public Lease lock(String name) throws InterruptedException {
    return lock(name, LockOptions.defaults());
  }

  /**
   * Takes the lock, waiting in line (first come, first served) up to
   * {@link LockOptions#maxWait()}.
   *
   * @throws LockTimeoutException when the wait ends with the lock still held by someone else
   * @throws OctoStoreException when the server refuses (bad name, lock limit, bad token)
   * @throws InterruptedException when the calling thread is interrupted while waiting
   */
  public Lease lock(String name, LockOptions options) throws InterruptedException {
    return lock(new Acquire(name, Objects.requireNonNull(options, "options"), null, null));
  }

  /** The blocking acquire behind every lock and semaphore form. */
  Lease lock(Acquire a) throws InterruptedException {
    String name = a.name();
    LockOptions options = a.options();
    if (a.session() != null) {
      a.session().ensureUsable();
    }
    Duration maxWait = options.maxWait();
    long deadline = maxWait == null ? Long.MAX_VALUE : System.nanoTime() + maxWait.toNanos();
    while (true) {
      long remaining = deadline - System.nanoTime();
      int waitSeconds = (int) Math.max(0, Math.min(MAX_WAIT_SECONDS, TimeUnit.NANOSECONDS.toSeconds(remaining)));
      long sent = System.nanoTime();
      AcquireResult r;
      try {
        r = acquire(a, waitSeconds);
      } catch (OctoStoreException e) {
        if (e.getCause() instanceof InterruptedException) {
          Thread.interrupted();
          throw new InterruptedException("octostore: interrupted while waiting for lock " + name);
        }
        throw e;
      }
      long now = System.nanoTime();
      if (r.getStatus() == AcquireResult.StatusEnum.ACQUIRED) {
        // A blocking acquire is granted when the lock frees, any time before the answer:
        // the lease's time counts from the answer, not from when the request was sent.
        return new Lease(this, name, r, options, waitSeconds > 0 ? now : sent, effectiveOwner(options), a.session());
      }
      if (now - deadline >= 0) {
        throw new LockTimeoutException(name, r.getHolderId());
      }
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
      // The server answered before the wait it was given ran out (it cannot hold requests,
      // or the lock changed hands under us): pause as it suggests before asking again.
      if (now - sent < TimeUnit.SECONDS.toNanos(waitSeconds) - TimeUnit.MILLISECONDS.toNanos(100)
          || waitSeconds == 0) {
        long pause = r.getRetryAfterMs() != null ? r.getRetryAfterMs() : DEFAULT_RETRY.toMillis();
        long pauseNanos = Math.min(TimeUnit.MILLISECONDS.toNanos(Math.max(pause, 10)), deadline - now);
        TimeUnit.NANOSECONDS.sleep(pauseNanos);
      }
    }
  }

  /** Takes the lock if it is free, as a 15-second lease renewed in the background. */
  public LockAttempt tryLock(String name) {
    return tryLock(name, LockOptions.defaults());
  }

  /**
   * Takes the lock if it is free, asking once ({@link LockOptions#maxWait()} is ignored).
   * When someone else holds it, the attempt tells who and until when; nothing is thrown.
   *
   * @throws OctoStoreException when the server refuses (bad name, lock limit, bad token)
   */
  public LockAttempt tryLock(String name, LockOptions options) {
    return tryLock(new Acquire(name, Objects.requireNonNull(options, "options"), null, null));
  }

  /** The single attempt behind every try form of a lock or semaphore. */
  LockAttempt tryLock(Acquire a) {
    if (a.session() != null) {
      a.session().ensureUsable();
    }
    long sent = System.nanoTime();
    AcquireResult r = acquire(a, 0);
    if (r.getStatus() == AcquireResult.StatusEnum.ACQUIRED) {
      return LockAttempt.acquired(new Lease(this, a.name(), r, a.options(), sent, effectiveOwner(a.options()), a.session()));
    }
    return LockAttempt.held(
        r.getHolderId(),
        r.getExpiresAt() == null ? null : r.getExpiresAt().toInstant(),
        r.getRetryAfterMs() == null ? null : Duration.ofMillis(r.getRetryAfterMs()),
        r.getAvailableAt() == null ? null : r.getAvailableAt().toInstant());
  }

  /**
   * A counting semaphore on the lock {@code name}: up to {@code maxHolders} (1..64) distinct
   * holders at once, each with its own lease and fencing token, taken with the same
   * {@code lock}/{@code tryLock}/{@code withLock} forms and defaults as a lock. Every holder
   * must ask for the same {@code maxHolders} (409 {@code max_holders_mismatch} otherwise).
   */
  public Semaphore semaphore(String name, int maxHolders) {
    return new Semaphore(this, name, maxHolders, null);
  }

  /** Starts a session with the default 15-second TTL, kept alive in the background. */
  public Session openSession() {
    return openSession(Session.DEFAULT_TTL);
  }

  /**
   * Starts a session (a lease on this process's liveness that many locks share) with
   * {@code ttl} (whole seconds, 1..3600), kept alive in the background until
   * {@link Session#close()}.
   *
   * @throws OctoStoreException when the server refuses ({@code session_limit_exceeded}, bad TTL)
   */
  public Session openSession(Duration ttl) {
    Session s = Session.open(this, ttl);
    return s;
  }

  /**
   * The current index of {@code prefix} (may be empty: every lock of the account): every
   * change under it so far is at or below it. Pass it to {@link #watchPrefix} to follow what
   * changes from now on.
   */
  public long prefixIndex(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    LockList res = call(requestTimeout, l -> l.listLocks(null, 1, prefix, null, null, null));
    return res.getIndex() == null ? 0 : res.getIndex();
  }

  /**
   * Follows every change under {@code prefix} past {@code index} (from {@link #prefixIndex}
   * or a previous answer): the returned watch hands out one answer per change batch, each
   * with the index to come back with, and waits out 429 and 503 on its own.
   */
  public PrefixWatch watchPrefix(String prefix, long index) {
    return new PrefixWatch(this, Objects.requireNonNull(prefix, "prefix"), index);
  }

  /** The lock's state: {@code held} (holder, fencing token, expiry, metadata) or {@code free}. */
  public LockStatus status(String name) {
    checkName(name);
    return call(requestTimeout, l -> l.getLock(name, null, null, null));
  }

  /**
   * Waits until the lock's revision is greater than {@code index}, or {@code wait} (at most
   * 60 seconds) passes, and returns its state then. Pass the {@code revision} you last saw; a
   * change in between returns at once, so no change is ever missed.
   */
  public LockStatus watch(String name, long index, Duration wait) {
    int seconds = (int) Math.min(MAX_WAIT_SECONDS, Math.max(0, wait.toSeconds()));
    checkName(name);
    return call(requestTimeout.plusSeconds(seconds), l -> l.getLock(name, index, seconds, null));
  }

  /**
   * The account's active locks, ordered by name: every page the server hands out (it
   * answers at most 1000 locks a request), up to a million locks.
   */
  public List<LockStatus> list() {
    List<LockStatus> all = new ArrayList<>();
    String cursor = null;
    for (int page = 0; page < 1000; page++) {
      String after = cursor;
      LockList res = call(requestTimeout, l -> l.listLocks(after, 1000, null, null, null, null));
      all.addAll(res.getLocks());
      cursor = res.getNextCursor();
      if (cursor == null) {
        break;
      }
    }
    return all;
  }

  /** A leader election on the lock {@code name}. */
  public Election election(String name) {
    return new Election(this, name);
  }

  /** The generated API (of the first base URL), for calls the helpers do not cover. */
  public LocksApi locks() {
    return endpoints.get(0).locks();
  }

  /** Stops the renewer thread (when the client made it). Leases not released expire by TTL. */
  @Override
  public void close() {
    if (ownsScheduler) {
      scheduler.shutdownNow();
    }
    renewers.shutdownNow();
    Thread hook = shutdownHook;
    if (hook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // The hook is running or has run.
      }
    }
  }

  AcquireResult acquire(Acquire a, int waitSeconds) {
    String name = a.name();
    LockOptions o = a.options();
    checkName(name);
    AcquireRequest req = new AcquireRequest()
        // Through a session the session's TTL rules; the lease has none of its own.
        .ttlSeconds(a.session() == null ? Math.toIntExact(o.ttl().toSeconds()) : null)
        .sessionId(a.session() == null ? null : a.session().id())
        .owner(effectiveOwner(o))
        .metadata(o.metadata())
        .lockDelaySeconds(o.lockDelay() == null || o.lockDelay().isZero() ? null : Math.toIntExact(o.lockDelay().toSeconds()))
        .maxHolders(a.maxHolders())
        .waitSeconds(waitSeconds > 0 ? waitSeconds : null);
    try {
      return call(requestTimeout.plusSeconds(waitSeconds), l -> l.acquireLock(name, req));
    } catch (OctoStoreException e) {
      if (a.session() != null && e.is(SessionLostException.CODE)) {
        // The server no longer knows the session: no retry can succeed, the session is lost.
        a.session().serverForgot(e);
        throw new SessionLostException(a.session().id(), LossReason.NOT_CURRENT, e);
      }
      throw e;
    }
  }

  void track(Session session, boolean open) {
    if (open) {
      sessions.add(session);
    } else {
      sessions.remove(session);
    }
  }

  String effectiveOwner(LockOptions o) {
    return o.owner() != null ? o.owner() : owner;
  }

  void track(Lease lease, boolean isHeld) {
    if (isHeld) {
      held.add(lease);
    } else {
      held.remove(lease);
    }
  }

  private static void checkName(String name) {
    if (name == null || name.isEmpty()) {
      throw new OctoStoreException(
          "octostore: invalid_lock_name: a lock name must not be empty", 0, "invalid_lock_name", null);
    }
  }

  /** One generated-client call. */
  @FunctionalInterface
  interface Call<T> {
    T call(LocksApi locks) throws ApiException;
  }

  /** One generated-client call of the sessions API. */
  @FunctionalInterface
  interface SessionCall<T> {
    T call(SessionsApi sessions) throws ApiException;
  }

  /** {@link #call} for the sessions API. */
  <T> T callSessions(Duration timeout, SessionCall<T> f) {
    return callEndpoint(timeout, ep -> f.call(ep.sessions()));
  }

  /** An endpoint call. */
  @FunctionalInterface
  private interface EndpointCall<T> {
    T call(Endpoint ep) throws ApiException;
  }

  /**
   * Runs {@code f} against the base URL that answered last, moving on to the next on a
   * transport error or a 503, with {@code timeout} as the whole request's time limit.
   */
  <T> T call(Duration timeout, Call<T> f) {
    return callEndpoint(timeout, ep -> f.call(ep.locks()));
  }

  private <T> T callEndpoint(Duration timeout, EndpointCall<T> f) {
    if (timeout.isNegative() || timeout.isZero()) {
      timeout = Duration.ofMillis(1);
    }
    int n = endpoints.size();
    int start = preferred.get();
    List<String> failures = new ArrayList<>();
    OctoStoreException last = null;
    Duration before = TIMEOUT.get();
    TIMEOUT.set(timeout);
    try {
      for (int i = 0; i < n; i++) {
        int idx = (start + i) % n;
        Endpoint ep = endpoints.get(idx);
        try {
          T r = f.call(ep);
          preferred.set(idx);
          return r;
        } catch (ApiException e) {
          OctoStoreException ex = OctoStoreException.from(e, ep.api(), ep.url());
          if (e.getCause() instanceof InterruptedException || Thread.currentThread().isInterrupted()) {
            throw ex;
          }
          if (ex.status() != 0 && ex.status() != 503) {
            return rethrow(ex);
          }
          failures.add(ex.getMessage());
          last = ex;
        }
      }
    } finally {
      if (before == null) {
        TIMEOUT.remove();
      } else {
        TIMEOUT.set(before);
      }
    }
    if (n == 1) {
      throw last;
    }
    throw new OctoStoreException(String.join("; ", failures), last.status(), last.code(), last);
  }

  private static <T> T rethrow(OctoStoreException e) {
    throw e;
  }

  ScheduledExecutorService scheduler() {
    return scheduler;
  }

  /** Runs {@code task} on a renewal thread after {@code delayNanos}. */
  java.util.concurrent.ScheduledFuture<?> scheduleRenewal(Runnable task, long delayNanos) {
    return scheduler.schedule(() -> {
      try {
        renewers.execute(task);
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        // The client was closed: nothing renews or watches its leases any more.
      }
    }, delayNanos, TimeUnit.NANOSECONDS);
  }

  private static ApiClient newApiClient(Builder b, String baseUrl) {
    ApiClient c = new ApiClient();
    URI uri = URI.create(baseUrl.replaceAll("/+$", ""));
    c.updateBaseUri(uri.toString());
    c.setConnectTimeout(b.connectTimeout);
    c.setReadTimeout(b.requestTimeout);
    String token = b.token;
    c.setRequestInterceptor(req -> {
      Duration t = TIMEOUT.get();
      if (t != null) {
        req.timeout(t);
      }
      if (token != null) {
        req.header("Authorization", "Bearer " + token);
      }
    });
    return c;
  }

  private static ScheduledExecutorService newScheduler() {
    AtomicInteger n = new AtomicInteger();
    return Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "octostore-renewer-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** Configures an {@link OctoStore}. */
  public static final class Builder {
    private final List<String> baseUrls;
    private String token;
    private String owner;
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration requestTimeout = Duration.ofSeconds(10);
    private ScheduledExecutorService scheduler;

    private Builder(List<String> baseUrls) {
      this.baseUrls = baseUrls;
    }

    /** The bearer token (an account token, {@code oct_…}). */
    public Builder token(String token) {
      this.token = token;
      return this;
    }

    /**
     * The holder name sent with every acquire instead of the default unique one
     * ({@code <host>-<pid>-<8 hex>}). Two clients with the same owner and token are one
     * holder: they re-acquire each other's leases. Printable ASCII without spaces, up to 128
     * characters; {@code null} keeps the default.
     */
    public Builder owner(String owner) {
      this.owner = owner;
      return this;
    }

    /** How long to wait for a connection (default 10 s). */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /**
     * How long one request may take in all (default 10 s); requests the server holds open
     * (blocking acquire, watch) get the time they ask the server to wait on top. A request
     * made for a lease (renewal, release) is also bounded by what is left of the lease.
     */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /**
     * The executor that runs renewals and loss listeners; by default the client starts one
     * daemon thread and stops it on {@link OctoStore#close()}. A given executor is not shut
     * down by the client.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = scheduler;
      return this;
    }

    /** Builds the client. */
    public OctoStore build() {
      return new OctoStore(this);
    }
  }
}
