package io.cascadesfu.core.dtls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Handshakes between our server and client roles over an in-memory datagram pipe. */
class DtlsSessionTest {

    private static final DtlsCertificate SERVER_CERT = DtlsCertificate.generate();
    private static final DtlsCertificate CLIENT_CERT = DtlsCertificate.generate();
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final ExecutorService executor = Executors.newCachedThreadPool();

    /** Delivers datagrams to a session, like a transport's event loop would: a ByteBuf it then releases. */
    private static final class Pipe implements DatagramSender {
        final AtomicReference<java.util.function.Consumer<ByteBuf>> target = new AtomicReference<>();
        volatile Predicate<byte[]> drop = d -> false;
        final AtomicInteger sent = new AtomicInteger();
        final java.util.concurrent.CopyOnWriteArrayList<byte[]> log = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public void send(byte[] data, int offset, int length) {
            byte[] copy = java.util.Arrays.copyOfRange(data, offset, offset + length);
            sent.incrementAndGet();
            log.add(copy);
            if (drop.test(copy)) {
                return;
            }
            ByteBuf buf = Unpooled.wrappedBuffer(copy);
            try {
                target.get().accept(buf);
            } finally {
                buf.release();
            }
        }
    }

    private final Pipe toClient = new Pipe();
    private final Pipe toServer = new Pipe();
    private final RecordingListener serverEvents = new RecordingListener();
    private final RecordingListener clientEvents = new RecordingListener();
    private DtlsServerSession server;
    private DtlsClientSession client;

    private void connect(List<SrtpProfile> offer, String serverExpects, String clientExpects, Duration timeout) {
        server = new DtlsServerSession(SERVER_CERT, "sha-256", serverExpects, executor, toClient, serverEvents, timeout);
        client = new DtlsClientSession(CLIENT_CERT, "sha-256", clientExpects, executor, toServer, clientEvents,
            timeout, offer);
        toServer.target.set(server::onDatagram);
        toClient.target.set(client::onDatagram);
    }

    private void connect(List<SrtpProfile> offer) {
        connect(offer, CLIENT_CERT.fingerprintSha256(), SERVER_CERT.fingerprintSha256(), TIMEOUT);
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        executor.shutdownNow();
        assertTrue(executor.awaitTermination(5, TimeUnit.SECONDS), "handshake threads stopped");
    }

    static void assertCrossed(SrtpKeys server, SrtpKeys client, SrtpProfile profile) {
        assertEquals(profile, server.profile());
        assertEquals(profile, client.profile());
        assertArrayEquals(server.localKey(), client.remoteKey());
        assertArrayEquals(server.localSalt(), client.remoteSalt());
        assertArrayEquals(server.remoteKey(), client.localKey());
        assertArrayEquals(server.remoteSalt(), client.localSalt());
        assertFalse(java.util.Arrays.equals(server.localKey(), server.remoteKey()));
    }

    /** A full handshake between two fresh sessions using the given certificates. */
    static void assertHandshakeSucceeds(DtlsCertificate serverCert, DtlsCertificate clientCert) throws Exception {
        DtlsSessionTest test = new DtlsSessionTest();
        try {
            test.server = new DtlsServerSession(serverCert, "sha-256", clientCert.fingerprintSha256(), test.executor,
                test.toClient, test.serverEvents, TIMEOUT);
            test.client = new DtlsClientSession(clientCert, "sha-256", serverCert.fingerprintSha256(), test.executor,
                test.toServer, test.clientEvents, TIMEOUT);
            test.toServer.target.set(test.server::onDatagram);
            test.toClient.target.set(test.client::onDatagram);
            test.client.start();
            assertCrossed(test.serverEvents.connected.get(10, TimeUnit.SECONDS),
                test.clientEvents.connected.get(10, TimeUnit.SECONDS), SrtpProfile.AEAD_AES_128_GCM);
        } finally {
            test.tearDown();
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void bothSidesConnectWithCrossedKeysForEachProfile(SrtpProfile profile) throws Exception {
        connect(List.of(profile));
        client.start();
        SrtpKeys serverKeys = serverEvents.connected.get(10, TimeUnit.SECONDS);
        SrtpKeys clientKeys = clientEvents.connected.get(10, TimeUnit.SECONDS);
        assertCrossed(serverKeys, clientKeys, profile);
        assertTrue(server.isConnected());
        assertTrue(client.isConnected());
    }

    @Test
    void serverPrefersGcmWhateverTheClientsOrder() throws Exception {
        connect(List.of(SrtpProfile.AES_CM_128_HMAC_SHA1_80, SrtpProfile.AEAD_AES_128_GCM));
        client.start();
        assertEquals(SrtpProfile.AEAD_AES_128_GCM, serverEvents.connected.get(10, TimeUnit.SECONDS).profile());
        assertEquals(SrtpProfile.AEAD_AES_128_GCM, clientEvents.connected.get(10, TimeUnit.SECONDS).profile());
    }

    @Test
    void serverRejectsClientCertificateThatDoesNotMatchFingerprint() throws Exception {
        connect(List.of(SrtpProfile.values()),
            SERVER_CERT.fingerprintSha256(), SERVER_CERT.fingerprintSha256(), Duration.ofSeconds(3));
        client.start();
        assertEquals("fingerprint mismatch", serverEvents.failed.get(5, TimeUnit.SECONDS));
        String clientReason = clientEvents.failed.get(5, TimeUnit.SECONDS);
        assertTrue(clientReason.contains("bad_certificate") || clientReason.equals("timeout"), clientReason);
        assertFalse(serverEvents.connected.isDone());
        assertFalse(clientEvents.connected.isDone());
    }

    @Test
    void clientRejectsServerCertificateThatDoesNotMatchFingerprint() throws Exception {
        connect(List.of(SrtpProfile.values()), CLIENT_CERT.fingerprintSha256(), CLIENT_CERT.fingerprintSha256(),
            Duration.ofSeconds(3));
        client.start();
        assertEquals("fingerprint mismatch", clientEvents.failed.get(5, TimeUnit.SECONDS));
        assertTrue(serverEvents.failed.get(5, TimeUnit.SECONDS).length() > 0);
        assertFalse(serverEvents.connected.isDone());
    }

    @Test
    void acceptsOtherFingerprintAlgorithms() throws Exception {
        server = new DtlsServerSession(SERVER_CERT, "SHA-512", CLIENT_CERT.fingerprint("sha-512"), executor, toClient,
            serverEvents, TIMEOUT);
        client = new DtlsClientSession(CLIENT_CERT, "sha-1", SERVER_CERT.fingerprint("sha-1").toLowerCase(), executor,
            toServer, clientEvents, TIMEOUT);
        toServer.target.set(server::onDatagram);
        toClient.target.set(client::onDatagram);
        client.start();
        assertCrossed(serverEvents.connected.get(10, TimeUnit.SECONDS), clientEvents.connected.get(10, TimeUnit.SECONDS),
            SrtpProfile.AEAD_AES_128_GCM);
    }

    @Test
    void handshakeTimesOutWhenPeerNeverAnswers() throws Exception {
        connect(List.of(SrtpProfile.values()), CLIENT_CERT.fingerprintSha256(), SERVER_CERT.fingerprintSha256(),
            Duration.ofMillis(1500));
        toServer.drop = d -> true;
        long startNs = System.nanoTime();
        client.start();
        assertTrue(clientEvents.failed.get(5, TimeUnit.SECONDS).startsWith("timeout"));
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        assertTrue(elapsedMs >= 1400 && elapsedMs < 4000, "elapsed " + elapsedMs);
        assertFalse(client.isConnected());
    }

    @Test
    void serverTimesOutWhenClientStopsMidHandshake() throws Exception {
        connect(List.of(SrtpProfile.values()), CLIENT_CERT.fingerprintSha256(), SERVER_CERT.fingerprintSha256(),
            Duration.ofMillis(1500));
        AtomicInteger delivered = new AtomicInteger();
        toServer.drop = d -> delivered.incrementAndGet() > 1; // only the first ClientHello gets through
        client.start();
        String reason = serverEvents.failed.get(5, TimeUnit.SECONDS);
        // The reason lists the handshake's datagrams: the ClientHello in, the server's flight out, and resent.
        assertTrue(reason.startsWith("timeout (datagrams: ") && reason.contains("<22.1/"), reason);
    }

    @Test
    void eachFlightGoesAsOneDatagram() throws Exception {
        connect(List.of(SrtpProfile.AEAD_AES_128_GCM));
        client.start();
        serverEvents.connected.get(10, TimeUnit.SECONDS);
        clientEvents.connected.get(10, TimeUnit.SECONDS);
        // ClientHello; certificate, key exchange, certificate verify, change cipher spec and finished.
        assertEquals(2, toServer.log.size(), "the client's two flights, two datagrams");
        // ServerHello to ServerHelloDone; change cipher spec and finished.
        assertEquals(2, toClient.log.size(), "the server's two flights, two datagrams");
    }

    @Test
    void aLostFlightCostsOneResendEachWay() throws Exception {
        // The first copy of the client's second flight and of the server's first: a record lost out of a flight
        // that went in pieces (its change cipher spec ahead of it) once left BouncyCastle's server unable ever to
        // read the resend, so a 2 % loss path failed one handshake in a hundred.
        connect(List.of(SrtpProfile.AEAD_AES_128_GCM));
        AtomicInteger toServerCount = new AtomicInteger();
        AtomicInteger toClientCount = new AtomicInteger();
        toServer.drop = d -> toServerCount.incrementAndGet() == 2;
        toClient.drop = d -> toClientCount.incrementAndGet() == 1;
        long startNs = System.nanoTime();
        client.start();
        assertCrossed(serverEvents.connected.get(10, TimeUnit.SECONDS), clientEvents.connected.get(10, TimeUnit.SECONDS),
            SrtpProfile.AEAD_AES_128_GCM);
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        assertTrue(elapsedMs < 6_000, "two resends of a second or so each, took " + elapsedMs + " ms");
    }

    @Test
    void garbageBeforeAndAfterHandshakeNeitherThrowsNorBreaksTheSession() throws Exception {
        connect(List.of(SrtpProfile.values()));
        Random random = new Random(42);
        feedGarbage(random, server::onDatagram);
        feedGarbage(random, client::onDatagram);
        assertFalse(serverEvents.failed.isDone());
        client.start();
        serverEvents.connected.get(10, TimeUnit.SECONDS);
        clientEvents.connected.get(10, TimeUnit.SECONDS);
        feedGarbage(random, server::onDatagram);
        feedGarbage(random, client::onDatagram);
        Thread.sleep(200);
        assertTrue(server.isConnected());
        assertTrue(client.isConnected());
        assertFalse(serverEvents.failed.isDone());
        assertFalse(clientEvents.failed.isDone());
        assertTrue(server.droppedDatagrams() > 0);
        // The session still works: an orderly close reaches the peer.
        client.close();
        assertTrue(serverEvents.closed.await(5, TimeUnit.SECONDS));
    }

    private static void feedGarbage(Random random, java.util.function.Consumer<ByteBuf> target) {
        for (int i = 0; i < 200; i++) {
            byte[] bytes = new byte[random.nextInt(1400)];
            random.nextBytes(bytes);
            if (i % 4 == 1 && bytes.length > 13) {
                // A well-formed record header (handshake, DTLS 1.2, epoch 1) around random "ciphertext".
                bytes[0] = 22;
                bytes[1] = (byte) 0xFE;
                bytes[2] = (byte) 0xFD;
                bytes[3] = 0;
                bytes[4] = 1;
                bytes[11] = (byte) ((bytes.length - 13) >> 8);
                bytes[12] = (byte) (bytes.length - 13);
            } else if (i % 4 == 2 && bytes.length > 0) {
                bytes[0] = 22; // looks like DTLS, but the record lengths are wrong
            }
            ByteBuf buf = i % 2 == 0 ? Unpooled.wrappedBuffer(bytes) : Unpooled.directBuffer(bytes.length).writeBytes(bytes);
            try {
                target.accept(buf);
            } finally {
                buf.release();
            }
        }
        ByteBuf empty = Unpooled.EMPTY_BUFFER;
        target.accept(empty);
    }

    @Test
    void closeSendsCloseNotifyAndPeerReportsClosed() throws Exception {
        connect(List.of(SrtpProfile.values()));
        client.start();
        serverEvents.connected.get(10, TimeUnit.SECONDS);
        clientEvents.connected.get(10, TimeUnit.SECONDS);
        server.close();
        assertFalse(server.isConnected());
        assertTrue(clientEvents.closed.await(5, TimeUnit.SECONDS));
        assertFalse(client.isConnected());
        server.close(); // idempotent
        assertEquals(1, serverEvents.closed.getCount(), "no callback for our own close");
    }

    @Test
    void closeDuringHandshakeStopsTheHandshakeThread() throws Exception {
        connect(List.of(SrtpProfile.values()), CLIENT_CERT.fingerprintSha256(), SERVER_CERT.fingerprintSha256(),
            Duration.ofSeconds(30));
        toServer.drop = d -> true;
        client.start();
        Thread.sleep(200);
        client.close();
        client.close();
        // tearDown's awaitTermination proves the BouncyCastle thread returned long before the 30 s timeout.
        executor.shutdown();
        assertTrue(executor.awaitTermination(2, TimeUnit.SECONDS));
        assertFalse(clientEvents.connected.isDone());
    }

    @Test
    void serverResendsItsLastFlightWhenTheClientRetransmitsAfterServerConnected() throws Exception {
        connect(List.of(SrtpProfile.values()));
        // Drop the server's ChangeCipherSpec and epoch-1 Finished the first time they are sent.
        AtomicInteger droppedFinalFlight = new AtomicInteger();
        toClient.drop = d -> {
            boolean finalFlight = d.length > 13 && (d[0] == 20 || (d[0] == 22 && d[4] == 1));
            return finalFlight && droppedFinalFlight.incrementAndGet() <= 2;
        };
        client.start();
        serverEvents.connected.get(10, TimeUnit.SECONDS);
        // The client connects only if the server, already connected, answers the client's retransmission.
        SrtpKeys clientKeys = clientEvents.connected.get(10, TimeUnit.SECONDS);
        assertCrossed(serverEvents.connected.get(), clientKeys, SrtpProfile.AEAD_AES_128_GCM);
        assertTrue(droppedFinalFlight.get() >= 2);
    }
}
