package io.octostore.conformance;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.octostore.Election;
import io.octostore.Leader;
import io.octostore.Lease;
import io.octostore.LockAttempt;
import io.octostore.LockOptions;
import io.octostore.LockTimeoutException;
import io.octostore.OctoStore;
import io.octostore.OctoStoreException;
import io.octostore.PrefixWatch;
import io.octostore.Session;
import io.octostore.client.model.LockStatus;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs one conformance scenario through the Java helper. {@link #execute} is the
 * translation table: each op is one helper call, and its result becomes the flat map the
 * scenario's matchers read.
 */
final class ScenarioRunner implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient RAW = HttpClient.newHttpClient();
  private static final Pattern REF = Pattern.compile("\\$\\{([a-z][a-z0-9_]*)\\.([a-z_]+)\\}");

  /** A holder: one helper client with its identity. */
  private record Actor(OctoStore client, String token, String tokenId, String accountId) {
    /** The owner the helper sends: the scenario's, or the helper's default. */
    String owner() {
      return tokenId == null ? null : client.owner();
    }

    String holderId(String owner) {
      return tokenId == null ? null : tokenId + "/" + owner;
    }

    Map<String, Object> fields() {
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("token_id", tokenId);
      f.put("account_id", accountId);
      f.put("owner", owner());
      f.put("holder_id", holderId(client.owner()));
      return f;
    }
  }

  /** The error a with_lock body raises on purpose (code {@code user_error}). */
  private static final class UserError extends Exception {
    private static final long serialVersionUID = 1L;

    UserError(String message) {
      super(message);
    }
  }

  /** What a step produced: a flat result and a native handle, or an error. */
  private record Outcome(Map<String, Object> result, Object handle, Throwable error) {
    static Outcome of(Map<String, Object> result) {
      return new Outcome(result, null, null);
    }
  }

  /** A client-side wait that ended without its condition (code {@code timeout}). */
  private static final class StepTimeout extends Exception {
    private static final long serialVersionUID = 1L;

    StepTimeout(String message) {
      super(message);
    }
  }

  private final String name;
  private final Map<String, Object> scenario;
  private final TestServer server;
  private final Map<String, Actor> actors = new LinkedHashMap<>();
  private final Map<String, Outcome> saved = new LinkedHashMap<>();
  private final Map<String, Future<Outcome>> tasks = new LinkedHashMap<>();
  private final List<Lease> leases = new ArrayList<>();
  private final List<Election> elections = new ArrayList<>();
  private final List<Session> sessions = new ArrayList<>();
  private final ExecutorService background = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "conformance-task");
    t.setDaemon(true);
    return t;
  });

  ScenarioRunner(Map<String, Object> scenario, TestServer server) {
    this.name = (String) scenario.get("name");
    this.scenario = scenario;
    this.server = server;
  }

  /** Creates the actors and runs every step; an AssertionError names the failing step. */
  @SuppressWarnings("unchecked")
  void run() throws Exception {
    createActors((Map<String, Map<String, Object>>) scenario.get("actors"));
    List<Map<String, Object>> steps = (List<Map<String, Object>>) scenario.get("steps");
    for (int i = 0; i < steps.size(); i++) {
      Map<String, Object> raw = steps.get(i);
      Map<String, Object> step;
      try {
        step = (Map<String, Object>) resolve(raw);
      } catch (IllegalArgumentException e) {
        throw new AssertionError(where(i, raw) + e.getMessage());
      }
      String op = (String) step.get("op");
      if (step.containsKey("background")) {
        String task = (String) step.get("background");
        tasks.put(task, background.submit(() -> attempt(op, step)));
        continue;
      }
      Outcome out;
      if (op.equals("await")) {
        Future<Outcome> f = tasks.get((String) step.get("task"));
        if (f == null) {
          throw new AssertionError(where(i, step) + "no background task " + step.get("task"));
        }
        try {
          out = f.get(number(step, "timeout_ms"), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
          throw new AssertionError(where(i, step) + "task still running at the deadline");
        }
      } else {
        out = attempt(op, step);
      }
      check(i, step, out);
      if (step.containsKey("save")) {
        saved.put((String) step.get("save"), out);
      }
    }
  }

  private void check(int i, Map<String, Object> step, Outcome out) {
    @SuppressWarnings("unchecked")
    Map<String, Object> wantError = (Map<String, Object>) step.get("expect_error");
    if (wantError != null) {
      if (out.error == null) {
        throw new AssertionError(where(i, step) + "succeeded, want error " + wantError + "; result " + out.result);
      }
      String code = errorCode(out.error);
      Integer status = errorStatus(out.error);
      String message = String.valueOf(out.error.getMessage());
      if (!wantError.get("code").equals(code)
          || (wantError.containsKey("status") && !Matchers.equal(status, wantError.get("status")))
          || (wantError.containsKey("message_matches")
              && !Pattern.compile((String) wantError.get("message_matches")).matcher(message).find())) {
        throw new AssertionError(where(i, step) + "error code=" + code + " status=" + status
            + " message=" + message + ", want " + wantError, out.error);
      }
      return;
    }
    if (out.error != null) {
      throw new AssertionError(where(i, step) + "failed: " + out.error, out.error);
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> expect = (Map<String, Object>) step.get("expect");
    if (expect != null) {
      String miss = Matchers.check(out.result, expect);
      if (miss != null) {
        throw new AssertionError(where(i, step) + miss + "; result " + out.result);
      }
    }
  }

  private Outcome attempt(String op, Map<String, Object> step) {
    try {
      return execute(op, step);
    } catch (AssertionError e) {
      throw e;
    } catch (Throwable e) {
      return new Outcome(null, null, e);
    }
  }

  /** The translation table: op → helper call → flat result. */
  private Outcome execute(String op, Map<String, Object> s) throws Exception {
    switch (op) {
      case "try_lock": {
        // client.tryLock, session.tryLock, or semaphore(name, n).tryLock (of either).
        LockOptions o = lockOptions(s);
        String lock = str(s, "lock");
        Session session = s.containsKey("session") ? session(s) : null;
        LockAttempt a;
        if (s.containsKey("max_holders")) {
          int n = (int) number(s, "max_holders");
          a = (session != null ? session.semaphore(lock, n) : actor(s).client.semaphore(lock, n)).tryLock(o);
        } else {
          a = session != null ? session.tryLock(lock, o) : actor(s).client.tryLock(lock, o);
        }
        if (a.lease().isEmpty()) {
          Map<String, Object> r = new LinkedHashMap<>();
          r.put("acquired", false);
          r.put("holder_id", a.holderId());
          r.put("expires_at", a.expiresAt());
          r.put("retry_after_ms", a.retryAfter().map(Duration::toMillis).orElse(null));
          r.put("available_at", a.availableAt().orElse(null));
          return Outcome.of(r);
        }
        Lease lease = track(a.lease().get());
        return new Outcome(grant(actor(s), lease), lease, null);
      }
      case "lock": {
        // client.lock, session.lock, or semaphore(name, n).lock (of either).
        LockOptions o = lockOptions(s).withMaxWait(Duration.ofSeconds(number(s, "wait")));
        String lock = str(s, "lock");
        Session session = s.containsKey("session") ? session(s) : null;
        Lease lease;
        if (s.containsKey("max_holders")) {
          int n = (int) number(s, "max_holders");
          lease = (session != null ? session.semaphore(lock, n) : actor(s).client.semaphore(lock, n)).lock(o);
        } else {
          lease = session != null ? session.lock(lock, o) : actor(s).client.lock(lock, o);
        }
        track(lease);
        return new Outcome(grant(actor(s), lease), lease, null);
      }
      case "session_open": {
        Session session = actor(s).client.openSession(Duration.ofSeconds(number(s, "ttl")));
        synchronized (sessions) {
          sessions.add(session);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("session_id", session.id());
        r.put("expires_at", session.expiresAt());
        return new Outcome(r, session, null);
      }
      case "session_state": {
        Session session = session(s);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("lost", session.isLost());
        r.put("session_id", session.id());
        return Outcome.of(r);
      }
      case "session_close":
        session(s).close();
        return Outcome.of(Map.of());
      case "session_orphan":
        session(s).orphan();
        return Outcome.of(Map.of());
      case "prefix_index":
        return Outcome.of(Map.of("index", actor(s).client.prefixIndex(str(s, "prefix"))));
      case "watch_prefix": {
        long index = ((Number) s.get("index")).longValue();
        try (PrefixWatch w = actor(s).client.watchPrefix(str(s, "prefix"), index)) {
          Optional<PrefixWatch.Changes> c = w.poll(Duration.ofSeconds(number(s, "wait")));
          Map<String, Object> r = new LinkedHashMap<>();
          if (c.isEmpty()) {
            r.put("index", index);
            r.put("changes", List.of());
            r.put("count", 0);
            r.put("complete", true);
            return Outcome.of(r);
          }
          List<String> changes = c.get().changes().stream()
              .map(st -> st.getName() + ":" + st.getStatus().getValue()).toList();
          r.put("index", c.get().index());
          r.put("changes", changes);
          r.put("count", changes.size());
          r.put("complete", c.get().complete());
          return Outcome.of(r);
        }
      }
      case "with_lock": {
        Actor a = actor(s);
        LockOptions o = lockOptions(s).withMaxWait(Duration.ofSeconds(s.containsKey("wait") ? number(s, "wait") : 0));
        String body = str(s, "body");
        return a.client.withLock(str(s, "lock"), o, lease -> {
          track(lease);
          switch (body) {
            case "return":
              break;
            case "raise":
              throw new UserError("the block failed");
            case "release_behind_then_raise":
              releaseBehind(a, lease);
              throw new UserError("the block failed after its lease was released behind its back");
            case "release_behind_then_wait_lost":
              releaseBehind(a, lease);
              try {
                lease.lost().get(10, TimeUnit.SECONDS);
              } catch (TimeoutException e) {
                throw new AssertionError("with_lock: the lease released behind the helper's back was not reported lost within 10 s");
              }
              break;
            default:
              throw new IllegalArgumentException("unknown with_lock body " + body);
          }
          Map<String, Object> r = new LinkedHashMap<>();
          r.put("ran", true);
          r.put("lease_id", lease.id().toString());
          r.put("fencing_token", lease.fencingToken());
          return Outcome.of(r);
        });
      }
      case "close": {
        Lease lease = lease(s);
        Future<?> f = background.submit(lease::close);
        try {
          f.get(number(s, "timeout_ms"), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
          throw new StepTimeout("close did not return within " + s.get("timeout_ms") + " ms");
        } catch (java.util.concurrent.ExecutionException e) {
          throw e.getCause() instanceof Exception x ? x : new RuntimeException(e.getCause());
        }
        return Outcome.of(Map.of());
      }
      case "server_pause":
        server.pause();
        return Outcome.of(Map.of());
      case "server_resume":
        server.resume();
        return Outcome.of(Map.of());
      case "renew": {
        Lease lease = lease(s);
        Instant expires = s.containsKey("ttl")
            ? lease.renew(Duration.ofSeconds(number(s, "ttl")))
            : lease.renew();
        Map<String, Object> r = leaseFields(lease);
        r.put("expires_at", expires);
        r.put("renew_after_ms", lease.renewAfter().map(Duration::toMillis).orElse(null));
        return Outcome.of(r);
      }
      case "release": {
        Lease lease = lease(s);
        lease.release();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("lease_id", lease.id().toString());
        r.put("fencing_token", lease.fencingToken());
        return Outcome.of(r);
      }
      case "lease_state": {
        Lease lease = lease(s);
        Map<String, Object> r = leaseFields(lease);
        r.put("lost", lease.isLost());
        return Outcome.of(r);
      }
      case "wait_lost": {
        // Lease.lost() or Session.lost(): futures completed by the loss signal.
        var signal = s.containsKey("session") ? session(s).lost() : lease(s).lost();
        try {
          signal.get(number(s, "timeout_ms"), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
          throw new StepTimeout("not lost within " + s.get("timeout_ms") + " ms");
        } catch (CancellationException e) {
          throw new IllegalStateException("it was released or closed, so it can never be lost");
        }
        return Outcome.of(Map.of("lost", true));
      }
      case "status":
        return Outcome.of(status(actor(s).client.status(str(s, "lock"))));
      case "wait_until":
        return Outcome.of(waitUntil(s));
      case "watch": {
        LockStatus st = actor(s).client.watch(
            str(s, "lock"), ((Number) s.get("index")).longValue(), Duration.ofSeconds(number(s, "wait")));
        return Outcome.of(status(st));
      }
      case "list": {
        List<String> names = actor(s).client.list().stream().map(LockStatus::getName).toList();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("names", names);
        r.put("count", names.size());
        return Outcome.of(r);
      }
      case "campaign": {
        Election e = actor(s).client.election(str(s, "election"));
        LockOptions o = LockOptions.defaults()
            .withTtl(Duration.ofSeconds(number(s, "ttl")))
            .withMaxWait(Duration.ofSeconds(number(s, "wait")));
        Lease lease = track(e.campaign(str(s, "value"), o));
        elections.add(e);
        Map<String, Object> r = leaseFields(lease);
        r.put("value", lease.metadata());
        return new Outcome(r, e, null);
      }
      case "leader":
        return Outcome.of(leader(actor(s).client.election(str(s, "election")).leader()));
      case "observe":
        return Outcome.of(observe(s));
      case "resign": {
        Outcome c = saved(s, "campaign");
        if (!(c.handle instanceof Election e)) {
          throw new IllegalArgumentException(s.get("campaign") + " is not a saved campaign");
        }
        e.resign();
        return Outcome.of(Map.of());
      }
      case "raw":
        return Outcome.of(raw(s));
      default:
        throw new IllegalArgumentException("the Java runner does not know op " + op);
    }
  }

  private LockOptions lockOptions(Map<String, Object> s) {
    LockOptions o = LockOptions.defaults().withTtl(Duration.ofSeconds(number(s, "ttl")));
    if (s.containsKey("metadata")) {
      o = o.withMetadata(str(s, "metadata"));
    }
    if (s.containsKey("auto_renew")) {
      o = o.withAutoRenew((Boolean) s.get("auto_renew"));
    }
    if (s.containsKey("lock_delay")) {
      o = o.withLockDelay(Duration.ofSeconds(number(s, "lock_delay")));
    }
    return o;
  }

  private static Map<String, Object> leaseFields(Lease lease) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("lease_id", lease.id().toString());
    r.put("fencing_token", lease.fencingToken());
    r.put("expires_at", lease.expiresAt());
    return r;
  }

  private static Map<String, Object> grant(Actor a, Lease lease) {
    Map<String, Object> r = leaseFields(lease);
    r.put("acquired", true);
    // The server does not echo the holder on a grant: it is the token and the owner sent.
    r.put("holder_id", a.holderId(lease.owner()));
    r.put("renew_after_ms", lease.renewAfter().map(Duration::toMillis).orElse(null));
    return r;
  }

  private static Map<String, Object> status(LockStatus st) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("name", st.getName());
    r.put("status", st.getStatus() == null ? null : st.getStatus().getValue());
    r.put("revision", st.getRevision());
    r.put("holder_id", st.getHolderId());
    r.put("fencing_token", st.getFencingToken());
    r.put("expires_at", st.getExpiresAt() == null ? null : st.getExpiresAt().toInstant());
    r.put("metadata", st.getMetadata());
    r.put("max_holders", st.getMaxHolders());
    r.put("holder_count", st.getHolders() == null ? 0 : st.getHolders().size());
    r.put("available_at", st.getAvailableAt() == null ? null : st.getAvailableAt().toInstant());
    return r;
  }

  private static Map<String, Object> leader(Optional<Leader> l) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("elected", l.isPresent());
    r.put("value", l.map(Leader::value).orElse(null));
    r.put("holder_id", l.map(Leader::holderId).orElse(null));
    r.put("fencing_token", l.map(Leader::fencingToken).orElse(null));
    r.put("revision", l.map(Leader::revision).orElse(null));
    return r;
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> waitUntil(Map<String, Object> s) throws Exception {
    OctoStore c = actor(s).client;
    Map<String, Object> until = (Map<String, Object>) s.get("until");
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(number(s, "timeout_ms"));
    Map<String, Object> last;
    while (true) {
      last = status(c.status(str(s, "lock")));
      if (Matchers.check(last, until) == null) {
        return last;
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new AssertionError("wait_until " + until + " not reached within " + s.get("timeout_ms") + " ms; last status " + last);
      }
      Thread.sleep(100);
    }
  }

  private Map<String, Object> observe(Map<String, Object> s) throws Exception {
    Election e = actor(s).client.election(str(s, "election"));
    Object want = s.get("until_value");
    LinkedBlockingQueue<Optional<Leader>> seen = new LinkedBlockingQueue<>();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(number(s, "timeout_ms"));
    try (Election.Observer o = e.observe(seen::add)) {
      while (true) {
        long left = deadline - System.nanoTime();
        Optional<Leader> l = seen.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
        if (l == null) {
          throw new StepTimeout("observe: no leader with value " + want + " within " + s.get("timeout_ms") + " ms");
        }
        if (want == null ? l.isEmpty() : l.isPresent() && want.equals(l.get().value())) {
          return leader(l);
        }
      }
    }
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> raw(Map<String, Object> s) throws Exception {
    StringBuilder url = new StringBuilder(server.baseUrl()).append(str(s, "path"));
    Map<String, Object> query = (Map<String, Object>) s.get("query");
    if (query != null) {
      String sep = "?";
      for (Map.Entry<String, Object> q : query.entrySet()) {
        url.append(sep).append(URLEncoder.encode(q.getKey(), StandardCharsets.UTF_8))
            .append('=').append(URLEncoder.encode(String.valueOf(q.getValue()), StandardCharsets.UTF_8));
        sep = "&";
      }
    }
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url.toString())).timeout(Duration.ofSeconds(30));
    String body = s.containsKey("body") ? JSON.writeValueAsString(s.get("body"))
        : s.containsKey("body_text") ? str(s, "body_text") : null;
    if (body != null) {
      b.header("Content-Type", s.containsKey("content_type") ? str(s, "content_type") : "application/json");
    }
    b.method(str(s, "method"), body == null
        ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (s.containsKey("actor")) {
      Actor a = actor(s);
      if (a.token != null) {
        b.header("Authorization", "Bearer " + a.token);
      }
    }
    HttpResponse<String> resp = RAW.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    Map<String, Object> r = new LinkedHashMap<>();
    String ct = resp.headers().firstValue("Content-Type").orElse(null);
    String media = ct == null ? null : ct.split(";")[0].trim();
    if (media != null && (media.equals("application/json") || media.endsWith("+json")) && !resp.body().isBlank()) {
      Object parsed = JSON.readValue(resp.body(), Object.class);
      if (parsed instanceof Map<?, ?> m) {
        r.putAll((Map<String, Object>) m);
      }
    }
    r.put("http_status", resp.statusCode());
    r.put("content_type", media);
    r.put("www_authenticate", resp.headers().firstValue("WWW-Authenticate").orElse(null));
    r.put("x_request_id", resp.headers().firstValue("X-Request-Id").orElse(null));
    return r;
  }

  /** Releases a lease with a plain HTTP request, behind the helper's back. */
  private void releaseBehind(Actor a, Lease lease) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(server.baseUrl() + "/locks/"
            + URLEncoder.encode(lease.name(), StandardCharsets.UTF_8) + "/release"))
        .timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + a.token)
        .POST(HttpRequest.BodyPublishers.ofString(
            JSON.writeValueAsString(Map.of("lease_id", lease.id().toString())), StandardCharsets.UTF_8))
        .build();
    HttpResponse<String> r = RAW.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    if (r.statusCode() != 200) {
      throw new AssertionError("release behind the helper's back: HTTP " + r.statusCode() + " " + r.body());
    }
  }

  /** http://127.0.0.1:P where nothing listens: a port bound and closed again. */
  private static String deadUrl() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return "http://127.0.0.1:" + s.getLocalPort();
    }
  }

  private void createActors(Map<String, Map<String, Object>> defs) throws Exception {
    Map<String, String> accounts = new LinkedHashMap<>();
    for (Map.Entry<String, Map<String, Object>> d : defs.entrySet()) {
      Map<String, Object> def = d.getValue();
      String owner = (String) def.get("owner");
      String token;
      String tokenId = null;
      String accountId = null;
      if (def.containsKey("account")) {
        String label = (String) def.get("account");
        var issued = accounts.containsKey(label)
            ? server.createToken(accounts.get(label))
            : server.createAccount(label + "-" + TestServer.randomSuffix());
        accountId = issued.get("account_id").asText();
        accounts.putIfAbsent(label, accountId);
        token = issued.get("token").asText();
        tokenId = issued.get("token_id").asText();
      } else if (def.containsKey("same_token_as")) {
        Actor other = actors.get((String) def.get("same_token_as"));
        if (other == null) {
          throw new AssertionError(name + ": actor " + d.getKey() + " refers to unknown actor " + def.get("same_token_as"));
        }
        token = other.token;
        tokenId = other.tokenId;
        accountId = other.accountId;
      } else if (def.containsKey("token")) {
        token = (String) def.get("token");
      } else if (Boolean.TRUE.equals(def.get("anonymous"))) {
        token = null;
      } else {
        throw new AssertionError(name + ": actor " + d.getKey() + " has no identity: " + def);
      }
      List<String> urls;
      Object u = def.get("urls");
      if (u == null) {
        urls = List.of(server.baseUrl());
      } else if (u.equals("dead_first")) {
        urls = List.of(deadUrl(), server.baseUrl());
      } else if (u.equals("dead_only")) {
        urls = List.of(deadUrl());
      } else {
        throw new AssertionError(name + ": actor " + d.getKey() + ": unknown urls " + u);
      }
      OctoStore client = OctoStore.builder(urls).token(token).owner(owner).build();
      actors.put(d.getKey(), new Actor(client, token, tokenId, accountId));
    }
  }

  /** Replaces ${x.f} references; an exact reference keeps the value's type. */
  private Object resolve(Object v) {
    if (v instanceof String s) {
      Matcher m = REF.matcher(s);
      if (m.matches()) {
        return lookup(m.group(1), m.group(2));
      }
      StringBuilder out = new StringBuilder();
      while (m.find()) {
        Object x = lookup(m.group(1), m.group(2));
        m.appendReplacement(out, Matcher.quoteReplacement(String.valueOf(x)));
      }
      m.appendTail(out);
      return out.toString();
    }
    if (v instanceof Map<?, ?> map) {
      Map<String, Object> r = new LinkedHashMap<>();
      map.forEach((k, x) -> r.put((String) k, resolve(x)));
      return r;
    }
    if (v instanceof List<?> list) {
      return list.stream().map(this::resolve).toList();
    }
    return v;
  }

  private Object lookup(String x, String f) {
    Map<String, Object> fields;
    if (actors.containsKey(x)) {
      fields = actors.get(x).fields();
    } else if (saved.containsKey(x) && saved.get(x).result != null) {
      fields = saved.get(x).result;
    } else {
      throw new IllegalArgumentException("unknown reference ${" + x + "." + f + "}");
    }
    if (!fields.containsKey(f)) {
      throw new IllegalArgumentException("unknown reference ${" + x + "." + f + "}: " + x + " has " + fields.keySet());
    }
    return fields.get(f);
  }

  private Actor actor(Map<String, Object> s) {
    Actor a = actors.get(str(s, "actor"));
    if (a == null) {
      throw new IllegalArgumentException("unknown actor " + s.get("actor"));
    }
    return a;
  }

  private Outcome saved(Map<String, Object> s, String field) {
    Outcome o = saved.get(str(s, field));
    if (o == null) {
      throw new IllegalArgumentException("nothing saved as " + s.get(field));
    }
    return o;
  }

  private Lease lease(Map<String, Object> s) {
    Outcome o = saved(s, "lease");
    if (!(o.handle instanceof Lease l)) {
      throw new IllegalArgumentException(s.get("lease") + " is not a saved lease");
    }
    return l;
  }

  private Session session(Map<String, Object> s) {
    Outcome o = saved(s, "session");
    if (!(o.handle instanceof Session x)) {
      throw new IllegalArgumentException(s.get("session") + " is not a saved session");
    }
    return x;
  }

  private Lease track(Lease lease) {
    synchronized (leases) {
      leases.add(lease);
    }
    return lease;
  }

  private static String str(Map<String, Object> s, String k) {
    return (String) s.get(k);
  }

  private static long number(Map<String, Object> s, String k) {
    return ((Number) s.get(k)).longValue();
  }

  private static String errorCode(Throwable e) {
    if (e instanceof StepTimeout) {
      return "timeout";
    }
    if (e instanceof UserError) {
      return "user_error";
    }
    if (e instanceof OctoStoreException o) {
      return o.code();
    }
    return null;
  }

  private static Integer errorStatus(Throwable e) {
    if (e instanceof OctoStoreException o && !(e instanceof LockTimeoutException) && o.status() != 0) {
      return o.status();
    }
    return null;
  }

  private String where(int i, Map<String, Object> step) {
    String text;
    try {
      text = JSON.writeValueAsString(step);
    } catch (Exception e) {
      text = String.valueOf(step);
    }
    if (text.length() > 600) {
      text = text.substring(0, 600) + "…";
    }
    return name + ": step " + i + " " + text + ": ";
  }

  /** Cancels tasks, resigns, releases every lease still held, closes the clients. */
  @Override
  public void close() {
    tasks.values().forEach(f -> f.cancel(true));
    background.shutdownNow();
    try {
      background.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Election e : elections) {
      try {
        e.resign();
      } catch (RuntimeException ignored) {
        // Cleanup ignores errors.
      }
    }
    synchronized (leases) {
      for (Lease l : leases) {
        try {
          l.close();
        } catch (RuntimeException ignored) {
          // Cleanup ignores errors.
        }
      }
    }
    synchronized (sessions) {
      for (Session x : sessions) {
        try {
          x.close();
        } catch (RuntimeException ignored) {
          // Cleanup ignores errors.
        }
      }
    }
    actors.values().forEach(a -> a.client.close());
  }

  static Map<String, Object> parse(String json) throws Exception {
    return JSON.readValue(json, new TypeReference<Map<String, Object>>() {});
  }
}
