package io.octostore;

/**
 * Told once when a {@link Session} is lost (never when it is closed or orphaned). Runs on one
 * of the client's background threads, outside the keep-alive: it may close the session, but
 * should return quickly.
 */
@FunctionalInterface
public interface SessionLossListener {
  /**
   * The session is gone, and every lock bound to it: {@link LossReason#NOT_CURRENT} when the
   * server no longer knows it, {@link LossReason#EXPIRED} when no keep-alive got through
   * before it would have expired.
   */
  void onLost(Session session, LossReason reason);
}
