package io.cascadesfu.signaling.auth;

import java.time.Instant;

/** The verified claims of a join token. */
public record AccessToken(String identity, String room, String name, Grants grants, Instant expiresAt) {
}
