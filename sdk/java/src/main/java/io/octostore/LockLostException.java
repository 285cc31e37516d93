package io.octostore;

/**
 * The lock was lost while the block of {@link OctoStore#withLock} ran (its lease expired
 * unrenewed, or the server no longer knows it), and the block returned normally. Its
 * {@link #code()} is {@code lock_lost}. Whatever the block did may have overlapped with
 * another holder.
 */
public final class LockLostException extends OctoStoreException {
  private static final long serialVersionUID = 1L;

  /** The client-side code of this exception. */
  public static final String CODE = "lock_lost";

  private final transient LossReason reason;

  LockLostException(String lock, LossReason reason) {
    super("octostore: lock " + lock + " was lost while the block ran (" + reason + ")", 0, CODE, null);
    this.reason = reason;
  }

  /** Why the lease was lost. */
  public LossReason reason() {
    return reason;
  }
}
