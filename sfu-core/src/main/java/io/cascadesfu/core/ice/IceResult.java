package io.cascadesfu.core.ice;

/** Outcome of {@link IceLiteAgent#onBindingRequest}; bad input is a result, never an exception. */
public enum IceResult {
    /** Authenticated check; a success response was written. */
    SUCCESS,
    /** Authenticated check carrying USE-CANDIDATE; a success response was written and the sender is selected. */
    SUCCESS_NOMINATED,
    /** Wrong USERNAME or MESSAGE-INTEGRITY; a 401 without MESSAGE-INTEGRITY was written. */
    UNAUTHORIZED,
    /** USERNAME or MESSAGE-INTEGRITY missing; a 400 was written. */
    BAD_REQUEST,
    /** The peer also claims the controlled role; a 487 was written so that it takes the controlling role. */
    ROLE_CONFLICT,
    /** Not a Binding request, or a bad FINGERPRINT; nothing was written. */
    DROPPED,
    /**
     * An authenticated check whose transaction id was already seen from another address: a captured check
     * replayed. Nothing was written and nothing changed (no address bound, no consent refreshed).
     */
    REPLAYED,
    /** A retransmission (same transaction id, same address): answered again, but changes nothing. */
    RETRANSMISSION
}
