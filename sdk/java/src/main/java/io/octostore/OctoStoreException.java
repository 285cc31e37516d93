package io.octostore;

import com.fasterxml.jackson.databind.JsonNode;
import io.octostore.client.ApiException;
import io.octostore.client.model.Problem;
import java.util.Optional;

/**
 * A request the server refused, or one that never got an answer.
 *
 * <p>When the server answered with a problem document (RFC 9457), {@link #code()} is its
 * stable machine-readable code, such as {@code lease_not_current} or
 * {@code lock_limit_exceeded}, and {@link #status()} its HTTP status. When no answer came
 * (connection refused, timeout), {@link #status()} is 0, {@link #code()} is
 * {@code transport}, and the message names the URL and the cause.
 */
public class OctoStoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The client-side code of a request that got no answer from any base URL. */
  public static final String TRANSPORT = "transport";

  private final int status;
  private final String code;
  private final transient Problem problem;
  private final java.time.Duration retryAfter;

  /** Creates an exception with an explicit status and code, for client-side failures. */
  protected OctoStoreException(String message, int status, String code, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.code = code;
    this.problem = null;
    this.retryAfter = null;
  }

  private OctoStoreException(String message, int status, String code, Problem problem, java.time.Duration retryAfter,
      Throwable cause) {
    super(message, cause);
    this.status = status;
    this.code = code;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  /** The HTTP status of the refusal, or 0 when the server gave no answer. */
  public int status() {
    return status;
  }

  /** The problem's stable code (e.g. {@code lease_not_current}), or {@code null}. */
  public String code() {
    return code;
  }

  /** The server's problem document, when it sent one the client could read. */
  public Optional<Problem> problem() {
    return Optional.ofNullable(problem);
  }

  /** The server's {@code Retry-After} (on 429 and 503 answers), when it sent one. */
  public Optional<java.time.Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  /** Whether the problem's code is {@code code}. */
  public boolean is(String code) {
    return code.equals(this.code);
  }

  /**
   * Whether trying again later can succeed: no answer at all, 429 or 503. Renewals retry
   * these until the lease's time runs out.
   */
  public boolean isTransient() {
    return status == 0 || status == 429 || status >= 500;
  }

  /** Translates a generated client's exception, reading the problem document it carries. */
  static OctoStoreException from(ApiException e, io.octostore.client.ApiClient api) {
    return from(e, api, null);
  }

  /** As {@link #from(ApiException, io.octostore.client.ApiClient)}, naming the base URL asked. */
  static OctoStoreException from(ApiException e, io.octostore.client.ApiClient api, String url) {
    if (e.getCode() == 0 || e.getResponseHeaders() == null) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      return new OctoStoreException("octostore: no answer from " + (url != null ? url : "the server")
          + ": " + describe(cause), 0, TRANSPORT, null, null, cause);
    }
    Problem problem = null;
    String code = null;
    String body = e.getResponseBody();
    if (body != null && !body.isBlank()) {
      try {
        problem = api.getObjectMapper().readValue(body, Problem.class);
        code = problem.getCode() == null ? null : problem.getCode().getValue();
      } catch (Exception unreadable) {
        // A code this client's spec does not list yet is still a code; anything else (a
        // proxy's error page, say) keeps the status and no code.
        try {
          JsonNode c = api.getObjectMapper().readTree(body).get("code");
          code = c != null && c.isTextual() ? c.asText() : null;
        } catch (Exception notJson) {
          code = null;
        }
      }
    }
    String message = "octostore: " + (url != null ? url + ": " : "") + "HTTP " + e.getCode() + (code != null ? " " + code : "")
        + (problem != null && problem.getDetail() != null ? ": " + problem.getDetail() : "");
    java.time.Duration retryAfter = null;
    java.util.List<String> ra = e.getResponseHeaders().allValues("Retry-After");
    if (!ra.isEmpty()) {
      try {
        retryAfter = java.time.Duration.ofSeconds(Math.max(0, Long.parseLong(ra.get(0).trim())));
      } catch (NumberFormatException httpDate) {
        retryAfter = null; // An HTTP-date: the caller's own pause applies.
      }
    }
    return new OctoStoreException(message, e.getCode(), code, problem, retryAfter, e);
  }

  /** A transport failure in words: "connection refused", "timed out", or the cause's message. */
  static String describe(Throwable cause) {
    String m = cause.getMessage();
    if (cause instanceof java.net.http.HttpTimeoutException) {
      return "timed out (" + cause.getClass().getSimpleName() + ")";
    }
    if (cause instanceof java.net.ConnectException) {
      // The JDK's HttpClient often reports a refused connection without a message.
      return (m == null || m.isBlank() ? "connection refused" : m.toLowerCase().contains("refused") ? m : m + " (connection refused?)")
          + " (ConnectException)";
    }
    return (m == null || m.isBlank() ? "no answer" : m) + " (" + cause.getClass().getName() + ")";
  }
}
