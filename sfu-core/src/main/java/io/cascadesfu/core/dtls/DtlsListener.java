package io.cascadesfu.core.dtls;

/**
 * Outcome of a DTLS session. Called on a handshake-executor thread, at most one of
 * {@link #onDtlsConnected} / {@link #onDtlsFailed} per handshake; implementations hand the event to the
 * transport's event loop rather than doing work here.
 */
public interface DtlsListener {
    /** The handshake completed, the peer's certificate matched its SDP fingerprint; keys for SRTP. */
    void onDtlsConnected(SrtpKeys keys);

    /** The handshake failed ("timeout", "fingerprint mismatch", ...) or a fatal alert ended the session. */
    void onDtlsFailed(String reason);

    /** The peer sent close_notify after the handshake. Not called for our own {@code close()}. */
    void onDtlsClosed();
}
