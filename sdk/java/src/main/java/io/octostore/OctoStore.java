package io.octostore;

import io.octostore.client.ApiClient;
import io.octostore.client.ApiException;
import io.octostore.client.api.LocksApi;
import io.octostore.client.model.AcquireRequest;
import io.octostore.client.model.AcquireResult;
import io.octostore.client.model.LockStatus;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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
 * <p>Thread-safe. {@link #close()} stops the background renewals of every lease it made
 * (they then expire by their TTL); release leases first.
 */
public final class OctoStore implements AutoCloseable {
  /** The longest a server holds a blocking request (the spec's {@code wait_seconds} maximum). */
  static final int MAX_WAIT_SECONDS = 60;

  /** Pause before asking again when a server answered {@code held} without a retry hint. */
  static final Duration DEFAULT_RETRY = Duration.ofMillis(250);

  private final ApiClient api;
  private final LocksApi locks;
  private final LocksApi waitingLocks;
  private final String owner;
  private final ScheduledExecutorService scheduler;
  private final boolean ownsScheduler;

  private OctoStore(Builder b) {
    this.api = newApiClient(b, b.requestTimeout);
    this.locks = new LocksApi(api);
    // Blocking acquires and watches are held open by the server for up to a minute.
    this.waitingLocks =
        new LocksApi(newApiClient(b, b.requestTimeout.plusSeconds(MAX_WAIT_SECONDS)));
    this.owner = b.owner;
    this.ownsScheduler = b.scheduler == null;
    this.scheduler = b.scheduler != null ? b.scheduler : newScheduler();
  }

  /** A client for the server at {@code baseUrl} that sends {@code token} as its bearer token. */
  public static OctoStore connect(String baseUrl, String token) {
    return builder(baseUrl).token(token).build();
  }

  /**
   * A client configured from the environment: {@code OCTOSTORE_URL} (default
   * {@code http://127.0.0.1:3000}) and {@code OCTOSTORE_TOKEN}.
   */
  public static OctoStore fromEnv() {
    String url = System.getenv().getOrDefault("OCTOSTORE_URL", "http://127.0.0.1:3000");
    return builder(url).token(System.getenv("OCTOSTORE_TOKEN")).build();
  }

  /** Starts configuring a client for the server at {@code baseUrl}. */
  public static Builder builder(String baseUrl) {
    return new Builder(baseUrl);
  }

  /**
   * Takes the lock, waiting in line as long as it takes, as a 30-second lease renewed in the
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
    Objects.requireNonNull(options, "options");
    Duration maxWait = options.maxWait();
    long deadline = maxWait == null ? Long.MAX_VALUE : System.nanoTime() + maxWait.toNanos();
    while (true) {
      long remaining = deadline - System.nanoTime();
      int waitSeconds = (int) Math.max(0, Math.min(MAX_WAIT_SECONDS, TimeUnit.NANOSECONDS.toSeconds(remaining)));
      long sent = System.nanoTime();
      AcquireResult r;
      try {
        r = acquire(name, options, waitSeconds);
      } catch (OctoStoreException e) {
        if (e.getCause() instanceof InterruptedException) {
          Thread.interrupted();
          throw new InterruptedException("octostore: interrupted while waiting for lock " + name);
        }
        throw e;
      }
      if (r.getStatus() == AcquireResult.StatusEnum.ACQUIRED) {
        return new Lease(this, name, r, options, sent);
      }
      long now = System.nanoTime();
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

  /** Takes the lock if it is free, as a 30-second lease renewed in the background. */
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
    Objects.requireNonNull(options, "options");
    long sent = System.nanoTime();
    AcquireResult r = acquire(name, options, 0);
    if (r.getStatus() == AcquireResult.StatusEnum.ACQUIRED) {
      return LockAttempt.acquired(new Lease(this, name, r, options, sent));
    }
    return LockAttempt.held(
        r.getHolderId(),
        r.getExpiresAt() == null ? null : r.getExpiresAt().toInstant(),
        r.getRetryAfterMs() == null ? null : Duration.ofMillis(r.getRetryAfterMs()));
  }

  /** The lock's state: {@code held} (holder, fencing token, expiry, metadata) or {@code free}. */
  public LockStatus status(String name) {
    try {
      return locks.getLock(name, null, null);
    } catch (ApiException e) {
      throw OctoStoreException.from(e, api);
    }
  }

  /**
   * Waits until the lock's revision is greater than {@code index}, or {@code wait} (at most
   * 60 seconds) passes, and returns its state then. Pass the {@code revision} you last saw; a
   * change in between returns at once, so no change is ever missed.
   */
  public LockStatus watch(String name, long index, Duration wait) {
    int seconds = (int) Math.min(MAX_WAIT_SECONDS, Math.max(0, wait.toSeconds()));
    try {
      return waitingLocks.getLock(name, index, seconds);
    } catch (ApiException e) {
      throw OctoStoreException.from(e, api);
    }
  }

  /** The account's active locks, ordered by name. */
  public List<LockStatus> list() {
    try {
      return locks.listLocks().getLocks();
    } catch (ApiException e) {
      throw OctoStoreException.from(e, api);
    }
  }

  /** A leader election on the lock {@code name}. */
  public Election election(String name) {
    return new Election(this, name);
  }

  /** The generated API, for calls the helpers do not cover. */
  public LocksApi locks() {
    return locks;
  }

  /** Stops the renewer thread (when the client made it). Leases not released expire by TTL. */
  @Override
  public void close() {
    if (ownsScheduler) {
      scheduler.shutdownNow();
    }
  }

  AcquireResult acquire(String name, LockOptions o, int waitSeconds) {
    AcquireRequest req = new AcquireRequest()
        .ttlSeconds(Math.toIntExact(o.ttl().toSeconds()))
        .owner(o.owner() != null ? o.owner() : owner)
        .metadata(o.metadata())
        .waitSeconds(waitSeconds > 0 ? waitSeconds : null);
    try {
      return (waitSeconds > 0 ? waitingLocks : locks).acquireLock(name, req);
    } catch (ApiException e) {
      throw OctoStoreException.from(e, api);
    }
  }

  ApiClient apiClient() {
    return api;
  }

  ScheduledExecutorService scheduler() {
    return scheduler;
  }

  private static ApiClient newApiClient(Builder b, Duration readTimeout) {
    ApiClient c = new ApiClient();
    URI uri = URI.create(b.baseUrl.replaceAll("/+$", ""));
    c.updateBaseUri(uri.toString());
    c.setConnectTimeout(b.connectTimeout);
    c.setReadTimeout(readTimeout);
    String token = b.token;
    c.setRequestInterceptor(req -> {
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
    private final String baseUrl;
    private String token;
    private String owner;
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration requestTimeout = Duration.ofSeconds(30);
    private ScheduledExecutorService scheduler;

    private Builder(String baseUrl) {
      this.baseUrl = Objects.requireNonNull(baseUrl, "baseUrl");
    }

    /** The bearer token (an account token, {@code oct_…}). */
    public Builder token(String token) {
      this.token = token;
      return this;
    }

    /**
     * The holder name sent with every acquire, for processes that share one token (a host
     * or pod name). Printable ASCII without spaces, up to 128 characters.
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
     * How long to wait for an answer (default 30 s); requests the server holds open
     * (blocking acquire, watch) get 60 s more.
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
