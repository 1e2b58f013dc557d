package io.cascadesfu.core.ice;

import io.cascadesfu.core.stun.Stun;
import io.cascadesfu.core.stun.StunMessage;
import io.cascadesfu.core.stun.StunParseResult;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IceLiteAgentTest {

    private static final IceCredentials LOCAL = new IceCredentials("sfuFrag1", "sfuPasswordSfuPassword12");
    private static final String REMOTE_UFRAG = "brwsr";
    private static final String REMOTE_PWD = "browserPasswordBrowser12";
    private static final String GOOD_USERNAME = LOCAL.ufrag() + ":" + REMOTE_UFRAG;
    private static final byte[] LOCAL_KEY = LOCAL.pwd().getBytes(StandardCharsets.UTF_8);
    private static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    private static final long T0_NS = 1_000_000_000L;
    private static final InetSocketAddress WIFI = new InetSocketAddress("192.0.2.10", 50000);
    private static final InetSocketAddress LTE = new InetSocketAddress("2001:db8::7", 40000);
    /** The transaction id of the check built last: each check gets a fresh one, as a real client's would. */
    private byte[] TRANSACTION_ID = "abcdefghijkl".getBytes(StandardCharsets.US_ASCII);
    private int checks;

    private IceLiteAgent agent;
    private final StunMessage request = new StunMessage();
    private final StunMessage response = new StunMessage();
    private ByteBuf out;

    @BeforeEach
    void setUp() {
        agent = new IceLiteAgent(LOCAL, TIMEOUT_NS, T0_NS);
        agent.setRemoteCredentials(REMOTE_UFRAG, REMOTE_PWD);
        out = Unpooled.buffer();
    }

    @AfterEach
    void tearDown() {
        out.release();
    }

    /** Builds a check, hands it to the agent, releases it; the response (if any) is left in {@code out}. */
    private IceResult check(String username, byte[] key, boolean useCandidate, boolean controlling,
                            InetSocketAddress from, long nowNs) {
        TRANSACTION_ID = ("txid-" + String.format("%07d", ++checks)).getBytes(StandardCharsets.US_ASCII);
        return checkWithId(TRANSACTION_ID, username, key, useCandidate, controlling, from, nowNs);
    }

    private IceResult checkWithId(byte[] transactionId, String username, byte[] key, boolean useCandidate,
                                  boolean controlling, InetSocketAddress from, long nowNs) {
        out.clear();
        ByteBuf packet = Unpooled.buffer();
        try {
            Stun.writeBindingRequest(packet, transactionId, username, key, 0x6e0001ffL, useCandidate, controlling, 7L);
            assertEquals(StunParseResult.OK, request.parse(packet));
            return agent.onBindingRequest(packet, request, from, nowNs, out);
        } finally {
            packet.release();
        }
    }

    private IceResult goodCheck(boolean useCandidate, InetSocketAddress from, long nowNs) {
        return check(GOOD_USERNAME, LOCAL_KEY, useCandidate, true, from, nowNs);
    }

    private void assertErrorResponse(int code, boolean withIntegrity) {
        assertEquals(StunParseResult.OK, response.parse(out));
        assertEquals(StunMessage.CLASS_ERROR, response.messageClass());
        assertEquals(code, response.errorCode());
        assertArrayEquals(TRANSACTION_ID, response.transactionId());
        assertTrue(Stun.verifyFingerprint(out, response));
        assertEquals(withIntegrity, response.messageIntegrityOffset() >= 0);
        if (withIntegrity) {
            assertTrue(Stun.verifyMessageIntegrity(out, response, LOCAL_KEY));
        }
    }

    @Test
    void aCheckReplayedFromAnotherAddressChangesNothingAndGetsNoAnswer() {
        assertEquals(IceResult.SUCCESS_NOMINATED, goodCheck(true, WIFI, T0_NS + 5));
        byte[] captured = TRANSACTION_ID.clone();
        assertEquals(IceResult.REPLAYED,
                checkWithId(captured, GOOD_USERNAME, LOCAL_KEY, true, true, LTE, T0_NS + 10));
        assertEquals(0, out.readableBytes(), "nothing answered to the replaying address");
        assertEquals(WIFI, agent.selectedAddress(), "the selection stays");
        assertEquals(T0_NS + 5, agent.lastValidCheckNs(), "a replay does not refresh consent");
        // A fresh check from the new address (a real network change) still moves the selection.
        assertEquals(IceResult.SUCCESS_NOMINATED, goodCheck(true, LTE, T0_NS + 20));
        assertEquals(LTE, agent.selectedAddress());
    }

    @Test
    void aRetransmittedCheckIsAnsweredAgainButChangesNothing() {
        assertEquals(IceResult.SUCCESS, goodCheck(false, WIFI, T0_NS + 5));
        byte[] first = TRANSACTION_ID.clone();
        assertEquals(IceResult.RETRANSMISSION,
                checkWithId(first, GOOD_USERNAME, LOCAL_KEY, true, true, WIFI, T0_NS + 9));
        assertEquals(StunParseResult.OK, response.parse(out));
        assertEquals(StunMessage.CLASS_SUCCESS, response.messageClass());
        assertArrayEquals(first, response.transactionId());
        assertNull(agent.selectedAddress(), "a retransmission nominates nothing new");
        assertEquals(T0_NS + 5, agent.lastValidCheckNs());
    }

    @Test
    void answersValidCheckWithVerifiableSuccess() {
        assertEquals(IceResult.SUCCESS, goodCheck(false, WIFI, T0_NS + 5));

        assertEquals(StunParseResult.OK, response.parse(out));
        assertEquals(StunMessage.CLASS_SUCCESS, response.messageClass());
        assertEquals(StunMessage.METHOD_BINDING, response.method());
        assertArrayEquals(TRANSACTION_ID, response.transactionId());
        assertEquals(WIFI, response.xorMappedAddress());
        assertTrue(Stun.verifyMessageIntegrity(out, response, LOCAL_KEY));
        assertTrue(Stun.verifyFingerprint(out, response));
        assertNull(agent.selectedAddress());
        assertEquals(T0_NS + 5, agent.lastValidCheckNs());
    }

    @Test
    void selectsAddressOnUseCandidate() {
        assertEquals(IceResult.SUCCESS_NOMINATED, goodCheck(true, WIFI, T0_NS + 1));
        assertEquals(WIFI, agent.selectedAddress());
        assertEquals(StunParseResult.OK, response.parse(out));
        assertEquals(WIFI, response.xorMappedAddress());
    }

    @Test
    void movesSelectionWhenLaterNominationComesFromNewAddress() {
        goodCheck(true, WIFI, T0_NS + 1);
        assertEquals(IceResult.SUCCESS_NOMINATED, goodCheck(true, LTE, T0_NS + 2));
        assertEquals(LTE, agent.selectedAddress());
        assertEquals(StunParseResult.OK, response.parse(out));
        assertEquals(LTE, response.xorMappedAddress()); // IPv6 XOR-MAPPED-ADDRESS
    }

    @Test
    void unnominatedCheckFromOtherAddressNeitherMovesSelectionNorRefreshesConsent() {
        goodCheck(true, WIFI, T0_NS + 1);
        assertEquals(IceResult.SUCCESS, goodCheck(false, LTE, T0_NS + 2));
        assertEquals(WIFI, agent.selectedAddress());
        assertEquals(T0_NS + 1, agent.lastValidCheckNs());
    }

    @Test
    void rejectsWrongPasswordWith401WithoutIntegrity() {
        byte[] wrongKey = "notThePasswordNotThePwd1".getBytes(StandardCharsets.UTF_8);
        assertEquals(IceResult.UNAUTHORIZED, check(GOOD_USERNAME, wrongKey, true, true, WIFI, T0_NS + 1));
        assertErrorResponse(401, false);
        assertNull(agent.selectedAddress());
        assertEquals(T0_NS, agent.lastValidCheckNs());
    }

    @Test
    void rejectsUnknownUfragWith401() {
        assertEquals(IceResult.UNAUTHORIZED, check("someoneElse:" + REMOTE_UFRAG, LOCAL_KEY, false, true, WIFI, T0_NS));
        assertErrorResponse(401, false);
    }

    @Test
    void rejectsWrongRemoteUfragWith401WhenRemoteCredentialsKnown() {
        assertEquals(IceResult.UNAUTHORIZED, check(LOCAL.ufrag() + ":other", LOCAL_KEY, false, true, WIFI, T0_NS));
        assertErrorResponse(401, false);
        assertEquals(IceResult.UNAUTHORIZED, check(LOCAL.ufrag() + ":", LOCAL_KEY, false, true, WIFI, T0_NS));
    }

    @Test
    void acceptsAnyRemoteUfragBeforeRemoteCredentialsAreKnown() {
        agent = new IceLiteAgent(LOCAL, TIMEOUT_NS, T0_NS);
        assertEquals(IceResult.SUCCESS, check(LOCAL.ufrag() + ":whoever", LOCAL_KEY, false, true, WIFI, T0_NS));
    }

    @Test
    void rejectsMissingUsernameOrIntegrityWith400() {
        assertEquals(IceResult.BAD_REQUEST, check(null, LOCAL_KEY, false, true, WIFI, T0_NS));
        assertErrorResponse(400, false);
        assertEquals(IceResult.BAD_REQUEST, check(GOOD_USERNAME, null, false, true, WIFI, T0_NS));
        assertErrorResponse(400, false);
    }

    @Test
    void answersRoleConflictWhenPeerAlsoClaimsControlled() {
        assertEquals(IceResult.ROLE_CONFLICT, check(GOOD_USERNAME, LOCAL_KEY, true, false, WIFI, T0_NS + 1));
        assertErrorResponse(487, true);
        assertNull(agent.selectedAddress());
    }

    @Test
    void dropsCheckWithBadFingerprintSilently() {
        out.clear();
        ByteBuf packet = Unpooled.buffer();
        try {
            Stun.writeBindingRequest(packet, TRANSACTION_ID, GOOD_USERNAME, LOCAL_KEY, 1, true, true, 7L);
            int last = packet.writerIndex() - 1;
            packet.setByte(last, packet.getByte(last) ^ 0x01);
            assertEquals(StunParseResult.OK, request.parse(packet));
            assertEquals(IceResult.DROPPED, agent.onBindingRequest(packet, request, WIFI, T0_NS, out));
            assertEquals(0, out.readableBytes());
            assertNull(agent.selectedAddress());
        } finally {
            packet.release();
        }
    }

    @Test
    void dropsResponsesAndIndications() {
        ByteBuf packet = Unpooled.buffer();
        try {
            Stun.writeBindingSuccess(packet, TRANSACTION_ID, WIFI, LOCAL_KEY);
            assertEquals(StunParseResult.OK, request.parse(packet));
            assertEquals(IceResult.DROPPED, agent.onBindingRequest(packet, request, WIFI, T0_NS, out));
            assertEquals(0, out.readableBytes());
        } finally {
            packet.release();
        }
    }

    @Test
    void consentExpiresAfterTimeoutWithoutValidChecks() {
        assertFalse(agent.isConsentExpired(T0_NS + TIMEOUT_NS - 1));
        assertTrue(agent.isConsentExpired(T0_NS + TIMEOUT_NS));

        long t1 = T0_NS + TIMEOUT_NS / 2;
        goodCheck(true, WIFI, t1);
        assertFalse(agent.isConsentExpired(T0_NS + TIMEOUT_NS));
        assertFalse(agent.isConsentExpired(t1 + TIMEOUT_NS - 1));
        assertTrue(agent.isConsentExpired(t1 + TIMEOUT_NS));

        // Consent check (no USE-CANDIDATE) from the selected address refreshes it.
        long t2 = t1 + TIMEOUT_NS - 10;
        assertEquals(IceResult.SUCCESS, goodCheck(false, WIFI, t2));
        assertFalse(agent.isConsentExpired(t1 + TIMEOUT_NS));
        assertTrue(agent.isConsentExpired(t2 + TIMEOUT_NS));

        // Failed checks do not.
        check(GOOD_USERNAME, "wrongwrongwrongwrongwrong".getBytes(StandardCharsets.UTF_8), false, true, WIFI,
                t2 + TIMEOUT_NS - 1);
        assertTrue(agent.isConsentExpired(t2 + TIMEOUT_NS));
    }

    @Test
    void consentClockHandlesNanoTimeWrapAround() {
        long start = Long.MAX_VALUE - 10;
        IceLiteAgent wrapping = new IceLiteAgent(LOCAL, TIMEOUT_NS, start);
        assertFalse(wrapping.isConsentExpired(start + 100)); // overflows to a negative nowNs
        assertTrue(wrapping.isConsentExpired(start + TIMEOUT_NS));
    }

    @Test
    void restartSwitchesCredentialsAndKeepsSelection() {
        goodCheck(true, WIFI, T0_NS + 1);
        IceCredentials fresh = new IceCredentials("newFrag2", "newPasswordNewPassword12");
        agent.restart(fresh);
        agent.setRemoteCredentials("brwsr2", "browserPasswordBrowser34");
        assertEquals(fresh, agent.local());
        assertEquals(WIFI, agent.selectedAddress());

        assertEquals(IceResult.UNAUTHORIZED, goodCheck(false, WIFI, T0_NS + 2));
        byte[] freshKey = fresh.pwd().getBytes(StandardCharsets.UTF_8);
        assertEquals(IceResult.SUCCESS_NOMINATED, check("newFrag2:brwsr2", freshKey, true, true, LTE, T0_NS + 3));
        assertEquals(LTE, agent.selectedAddress());
        assertEquals(StunParseResult.OK, response.parse(out));
        assertTrue(Stun.verifyMessageIntegrity(out, response, freshKey));
    }

    @Test
    void extractsLocalUfragFromUsername() {
        assertEquals("LFRAG", IceLiteAgent.localUfragOf("LFRAG:RFRAG"));
        assertNull(IceLiteAgent.localUfragOf("nocolon"));
        assertNull(IceLiteAgent.localUfragOf(":RFRAG"));
        assertNull(IceLiteAgent.localUfragOf("LFRAG:"));
        assertNull(IceLiteAgent.localUfragOf("a:b:c"));
        assertNull(IceLiteAgent.localUfragOf(null));
    }
}
