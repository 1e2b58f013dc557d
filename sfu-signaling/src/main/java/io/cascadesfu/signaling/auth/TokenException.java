package io.cascadesfu.signaling.auth;

/** A join token that cannot be accepted; {@link #code()} is the protocol error code. */
public final class TokenException extends Exception {
    private final String code;

    public TokenException(String code, String message) {
        super(message);
        this.code = code;
    }

    /** {@code invalid_token} or {@code token_expired}. */
    public String code() {
        return code;
    }
}
