package io.cascadesfu.core.srtp;

/** Outcome of one SRTP/SRTCP operation; failures are expected network events, not exceptions. */
public enum SrtpResult {
    /** Protected or unprotected; the buffer's writerIndex was adjusted. */
    OK,
    /** The authentication tag did not verify (corrupt or forged packet, wrong key). */
    AUTH_FAIL,
    /** The index was seen before or is older than the replay window. */
    REPLAY,
    /** Too short, not RTP version 2, or beyond the per-session SSRC limit. */
    INVALID,
    /** Any other failure (cipher error). */
    FAIL
}
