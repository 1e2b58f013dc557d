package io.cascadesfu.signaling.sdp;

/**
 * An SDP body that cannot be used: malformed where it matters, missing a required attribute, too large,
 * or (for {@link PublisherAnswer}) not acceptable to the server. The message says what is wrong and, where
 * the problem is on one line, which line (1-based) so it can be returned to the client as a typed error.
 */
public final class SdpException extends Exception {
    private static final long serialVersionUID = 1L;

    public SdpException(String message) {
        super(message);
    }

    static SdpException atLine(int lineNumber, String message) {
        return new SdpException("line " + lineNumber + ": " + message);
    }
}
