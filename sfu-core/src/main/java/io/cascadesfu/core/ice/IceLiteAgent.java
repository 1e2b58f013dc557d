package io.cascadesfu.core.ice;

import io.cascadesfu.core.stun.Stun;
import io.cascadesfu.core.stun.StunMessage;
import io.netty.buffer.ByteBuf;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * ICE-lite agent for one transport (RFC 8445 lite + RFC 7675 consent). Owned by the transport's event loop.
 *
 * <p>A lite agent never sends checks: it answers the peer's Binding requests, is always in the
 * controlled role, and uses the address the controlling peer nominates with USE-CANDIDATE.
 * Every later authenticated check from that address refreshes consent (RFC 7675); a nominated
 * check from a new address (network change, ICE restart) moves the selection there.
 *
 * <p>Request handling, in RFC 5389 section 10.1.2 / RFC 8445 section 7.3 order:
 * <ol>
 *   <li>not a Binding request, or FINGERPRINT present but wrong: {@link IceResult#DROPPED}, no reply;</li>
 *   <li>USERNAME or MESSAGE-INTEGRITY missing: 400, {@link IceResult#BAD_REQUEST};</li>
 *   <li>USERNAME not {@code localUfrag:remoteUfrag} or MESSAGE-INTEGRITY not made with the local
 *       pwd: 401 without MESSAGE-INTEGRITY, {@link IceResult#UNAUTHORIZED};</li>
 *   <li>peer also claims ICE-CONTROLLED: 487, {@link IceResult#ROLE_CONFLICT};</li>
 *   <li>otherwise a success response with XOR-MAPPED-ADDRESS = source address.</li>
 * </ol>
 *
 * <p>Lifecycle: created when the transport is created, {@link #setRemoteCredentials} once the
 * peer's SDP is known, {@link #restart} on ICE restart; discarded with the transport (the owner
 * closes it when {@link #isConsentExpired} turns true).
 *
 * <p>Threading: all methods must be called on the owning event loop; no locks.
 */
public final class IceLiteAgent {

    private static final String REASON_BAD_REQUEST = "Bad Request";
    private static final String REASON_UNAUTHORIZED = "Unauthorized";
    private static final String REASON_ROLE_CONFLICT = "Role Conflict";

    private final long consentTimeoutNs;
    private IceCredentials local;
    /** The local pwd as UTF-8: the short-term key checks from the peer are signed with (RFC 8445 7.2.2). */
    private byte[] localKey;
    private String remoteUfrag;
    private String remotePwd;
    private InetSocketAddress selectedAddress;
    /** Creation time until the first check that refreshes consent. */
    private long lastValidCheckNs;
    /**
     * Transaction ids of the last {@link #RECENT_TRANSACTIONS} authenticated checks and where each came from: a
     * check replayed from another address changes nothing (a captured check would otherwise move the media).
     */
    private final byte[] recentIds = new byte[RECENT_TRANSACTIONS * 12];
    private final InetSocketAddress[] recentFrom = new InetSocketAddress[RECENT_TRANSACTIONS];
    private int recentNext;

    /** Checks remembered: browsers check every few seconds once connected, so this spans several minutes. */
    static final int RECENT_TRANSACTIONS = 128;

    /** Creates an agent whose consent clock starts at {@link System#nanoTime()}. */
    public IceLiteAgent(IceCredentials local, long consentTimeoutNs) {
        this(local, consentTimeoutNs, System.nanoTime());
    }

    /** Creates an agent whose consent clock starts at {@code nowNs} (same time base as later calls). */
    public IceLiteAgent(IceCredentials local, long consentTimeoutNs, long nowNs) {
        if (consentTimeoutNs <= 0) {
            throw new IllegalArgumentException("consentTimeoutNs must be positive");
        }
        this.consentTimeoutNs = consentTimeoutNs;
        setLocal(local);
        this.lastValidCheckNs = nowNs;
    }

    private void setLocal(IceCredentials newLocal) {
        this.local = Objects.requireNonNull(newLocal, "local");
        this.localKey = newLocal.pwd().getBytes(StandardCharsets.UTF_8);
    }

    /** Credentials from the peer's SDP ({@code a=ice-ufrag}, {@code a=ice-pwd}); may change on ICE restart. */
    public void setRemoteCredentials(String ufrag, String pwd) {
        this.remoteUfrag = ufrag;
        this.remotePwd = pwd;
    }

    /** ICE restart: new local credentials; the selected address stays until a new one is nominated. */
    public void restart(IceCredentials newLocal) {
        setLocal(newLocal);
    }

    public IceCredentials local() {
        return local;
    }

    /** The peer's ufrag, or null before {@link #setRemoteCredentials}. */
    public String remoteUfrag() {
        return remoteUfrag;
    }

    /** The peer's pwd, or null; a lite agent sends no checks, so it is only kept for the owner. */
    public String remotePwd() {
        return remotePwd;
    }

    /**
     * Handles a Binding request from {@code from}; writes the response (success, 400, 401 or 487)
     * to {@code out} when one is due.
     *
     * @param packet the datagram; {@code msg} must be the OK result of parsing it at its current
     *               readerIndex. Not retained, released or moved: the caller still owns it.
     * @param out    the response is appended at its writerIndex; nothing is written for
     *               {@link IceResult#DROPPED}. Owned by the caller, who sends it to {@code from}.
     */
    public IceResult onBindingRequest(ByteBuf packet, StunMessage msg, InetSocketAddress from, long nowNs,
                                      ByteBuf out) {
        if (msg.method() != StunMessage.METHOD_BINDING || msg.messageClass() != StunMessage.CLASS_REQUEST) {
            return IceResult.DROPPED;
        }
        if (msg.fingerprintOffset() >= 0 && !Stun.verifyFingerprint(packet, msg)) {
            return IceResult.DROPPED;
        }
        final byte[] transactionId = msg.transactionId();
        final String username = msg.username();
        if (username == null || msg.messageIntegrityOffset() < 0) {
            Stun.writeError(out, StunMessage.METHOD_BINDING, transactionId, Stun.ERROR_BAD_REQUEST,
                    REASON_BAD_REQUEST, null);
            return IceResult.BAD_REQUEST;
        }
        if (!usernameMatches(username) || !Stun.verifyMessageIntegrity(packet, msg, localKey)) {
            // RFC 5389 10.1.2: no MESSAGE-INTEGRITY on a 401, we could not authenticate the peer.
            Stun.writeError(out, StunMessage.METHOD_BINDING, transactionId, Stun.ERROR_UNAUTHORIZED,
                    REASON_UNAUTHORIZED, null);
            return IceResult.UNAUTHORIZED;
        }
        if (msg.iceControlled()) {
            // RFC 8445 7.3.1.1: a controlled agent seeing ICE-CONTROLLED either answers 487 (its
            // tie-breaker >= the peer's) or switches to controlling. A lite agent can never take the
            // controlling role (6.1.1: the full agent controls), so it acts as if its tie-breaker
            // always wins and answers 487; the full peer then switches to controlling and retries.
            Stun.writeError(out, StunMessage.METHOD_BINDING, transactionId, Stun.ERROR_ROLE_CONFLICT,
                    REASON_ROLE_CONFLICT, localKey);
            return IceResult.ROLE_CONFLICT;
        }
        int seen = indexOfRecent(transactionId);
        if (seen >= 0) {
            if (!from.equals(recentFrom[seen])) {
                return IceResult.REPLAYED;
            }
            Stun.writeBindingSuccess(out, transactionId, from, localKey);
            return IceResult.RETRANSMISSION;
        }
        remember(transactionId, from);
        // Missing ICE-CONTROLLING or PRIORITY is tolerated: a lite agent needs neither (it keeps no
        // peer-reflexive candidates and has no role decision to make).
        Stun.writeBindingSuccess(out, transactionId, from, localKey);
        if (msg.useCandidate()) {
            selectedAddress = from;
            lastValidCheckNs = nowNs;
            return IceResult.SUCCESS_NOMINATED;
        }
        if (selectedAddress == null || selectedAddress.equals(from)) {
            lastValidCheckNs = nowNs;
        }
        return IceResult.SUCCESS;
    }

    private int indexOfRecent(byte[] transactionId) {
        outer:
        for (int i = 0; i < RECENT_TRANSACTIONS; i++) {
            if (recentFrom[i] == null) {
                continue;
            }
            int base = i * 12;
            for (int j = 0; j < 12; j++) {
                if (recentIds[base + j] != transactionId[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private void remember(byte[] transactionId, InetSocketAddress from) {
        System.arraycopy(transactionId, 0, recentIds, recentNext * 12, 12);
        recentFrom[recentNext] = from;
        recentNext = (recentNext + 1) % RECENT_TRANSACTIONS;
    }

    /** "LOCAL:REMOTE" where LOCAL is exactly our ufrag and REMOTE is the peer's ufrag when known. */
    private boolean usernameMatches(String username) {
        final String localUfrag = local.ufrag();
        final int colon = localUfrag.length();
        if (username.length() <= colon + 1 || username.charAt(colon) != ':'
                || !username.startsWith(localUfrag)) {
            return false;
        }
        if (remoteUfrag != null) {
            return username.length() == colon + 1 + remoteUfrag.length()
                    && username.regionMatches(colon + 1, remoteUfrag, 0, remoteUfrag.length());
        }
        return username.indexOf(':', colon + 1) < 0;
    }

    /**
     * The address media goes to: null until the first nominated (USE-CANDIDATE) valid check; a later
     * nominated check from another address moves it (network change).
     */
    public InetSocketAddress selectedAddress() {
        return selectedAddress;
    }

    /**
     * True when no valid check came from the selected address (or from any address before
     * selection) for {@code consentTimeoutNs} since creation or the last such check (RFC 7675).
     */
    public boolean isConsentExpired(long nowNs) {
        return nowNs - lastValidCheckNs >= consentTimeoutNs;
    }

    /**
     * A sign of life from the selected address other than a check: authenticated SRTP/SRTCP, or a Binding
     * indication (the keepalive of stacks such as GStreamer's webrtcbin, which sends no consent checks). A lite
     * agent sends no checks of its own, so this is how it tells a silent client from a live one that does not
     * speak RFC 7675.
     */
    public void refreshConsent(long nowNs) {
        if (nowNs - lastValidCheckNs > 0) {
            lastValidCheckNs = nowNs;
        }
    }

    /** Time of the last check that refreshed consent, or the creation time if none has yet. */
    public long lastValidCheckNs() {
        return lastValidCheckNs;
    }

    /** "LFRAG:RFRAG" to "LFRAG" (the receiver's ufrag comes first, RFC 8445 7.2.2); null if malformed. */
    public static String localUfragOf(String username) {
        if (username == null) {
            return null;
        }
        final int colon = username.indexOf(':');
        if (colon <= 0 || colon == username.length() - 1 || username.indexOf(':', colon + 1) >= 0) {
            return null;
        }
        return username.substring(0, colon);
    }
}
