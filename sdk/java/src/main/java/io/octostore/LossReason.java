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
  EXPIRED
}
