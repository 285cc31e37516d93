package io.octostore;

/**
 * The lock was not granted within the wait the caller allowed. Its {@link #code()} is
 * {@code timeout}; nothing is held.
 */
public final class LockTimeoutException extends OctoStoreException {
  private static final long serialVersionUID = 1L;

  /** The client-side code of this exception. */
  public static final String CODE = "timeout";

  private final String holderId;

  LockTimeoutException(String lock, String holderId) {
    super("octostore: lock " + lock + " still held by someone else when the wait ended", 0, CODE, null);
    this.holderId = holderId;
  }

  /** Who held the lock when the wait ended, if the server said. */
  public String holderId() {
    return holderId;
  }
}
