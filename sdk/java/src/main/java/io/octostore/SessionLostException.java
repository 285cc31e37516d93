package io.octostore;

/**
 * A lock was asked for through a {@link Session} that is lost. Its {@link #code()} is
 * {@code session_not_found}, as the server's own answer for a session it no longer knows;
 * {@link #status()} is the server's 404 when the server said so, or 0 when the session was
 * given up at its local deadline (no keep-alive got through in time). Open a new session and
 * take the locks again.
 */
public final class SessionLostException extends OctoStoreException {
  private static final long serialVersionUID = 1L;

  /** The code of this exception, the server's for an unknown session. */
  public static final String CODE = "session_not_found";

  private final transient LossReason reason;

  SessionLostException(String sessionId, LossReason reason, OctoStoreException cause) {
    super("octostore: session " + sessionId + " is lost (" + reason + ")"
        + (cause != null ? ": " + cause.getMessage() : ""),
        cause != null && cause.is(CODE) ? cause.status() : 0, CODE, cause);
    this.reason = reason;
  }

  /** Why the session was lost. */
  public LossReason reason() {
    return reason;
  }
}
