package io.octostore;

/**
 * Told once when a lease is lost. Runs on the client's renewer thread: return quickly and
 * hand long work to another thread.
 */
@FunctionalInterface
public interface LossListener {
  /** The lease is no longer held; stop using its fencing token. */
  void onLost(Lease lease, LossReason reason);
}
