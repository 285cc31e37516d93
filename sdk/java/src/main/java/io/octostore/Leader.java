package io.octostore;

import java.time.Instant;

/**
 * The current leader of an {@link Election}: who holds the lock and the value it published.
 *
 * @param holderId the holder's id (its token id, then {@code /owner} if it sent one)
 * @param value the metadata the leader campaigned with, or {@code null}
 * @param fencingToken the leader's fencing token
 * @param expiresAt when the leader's lease ends unless renewed
 * @param revision the lock's revision when this was read
 */
public record Leader(String holderId, String value, long fencingToken, Instant expiresAt, long revision) {}
