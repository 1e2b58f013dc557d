package io.cascadesfu.signaling.room;

/** A request that gets a typed {@code error} reply (docs/PROTOCOL.md, "Error codes"). */
public final class SignalingException extends Exception {
    private final String code;

    public SignalingException(String code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public String code() {
        return code;
    }
}
