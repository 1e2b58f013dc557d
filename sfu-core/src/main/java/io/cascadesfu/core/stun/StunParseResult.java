package io.cascadesfu.core.stun;

/** Outcome of {@link StunMessage#parse}. Bad input is a result, never an exception. */
public enum StunParseResult {
    /** A well-formed STUN message; the accessors of the {@link StunMessage} are valid. */
    OK,
    /** Not STUN at all (first two bits set, or no magic cookie): hand it to another demuxer or drop it. */
    NOT_STUN,
    /** Looks like STUN but the datagram is shorter than the header or the header's message length. */
    TRUNCATED,
    /** Looks like STUN but its attributes are inconsistent (bad lengths, attributes after FINGERPRINT...). */
    MALFORMED
}
