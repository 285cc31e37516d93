package io.octostore;

/** Why a {@link Lease} was lost. */
public enum LossReason {
  /**
   * The server says the lease is no longer the lock's current one: it expired (the process
   * stalled past its TTL) or was released through another handle.
   */
  NOT_CURRENT,
  /**
   * Renewals failed (no answer, or the server unavailable) until the lease's TTL ran out on
   * the client's clock, so it must be assumed gone.
   */
  EXPIRED,
  /**
   * The lease was bound to a {@link Session} that ended without a close: the session was
   * lost (the server no longer knows it, or no keep-alive got through in time) or orphaned
   * (nothing keeps it alive, so the server ends it one TTL later).
   */
  SESSION_ENDED
}
