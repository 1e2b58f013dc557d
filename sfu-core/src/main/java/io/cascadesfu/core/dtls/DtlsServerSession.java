package io.cascadesfu.core.dtls;

import java.io.IOException;
import java.time.Duration;
import java.util.Hashtable;
import java.util.Objects;
import java.util.concurrent.Executor;

import io.netty.buffer.ByteBuf;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.ClientCertificateType;
import org.bouncycastle.tls.DTLSServerProtocol;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.DatagramTransport;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsCredentialedSigner;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsSRTPUtils;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.UseSRTPData;
import org.bouncycastle.tls.crypto.impl.bc.BcTlsCrypto;

/**
 * DTLS 1.2 server role for one transport (RFC 5763/5764: the SFU answers with a=setup:passive).
 *
 * <p>The handshake runs on {@code handshakeExecutor} with BouncyCastle's blocking API, fed from a bounded
 * queue by {@link #onDatagram}; it starts with the first ClientHello, so no thread is used before the peer
 * speaks, and the timeout counts from then. The server requests the client's certificate and accepts it
 * only if it hashes to the fingerprint from the peer's SDP. It picks the first profile of
 * {@link SrtpProfile}'s order that the client offers in use_srtp.
 *
 * <p>Threads: {@link #onDatagram} on the transport's event loop; {@link #close()} from any thread;
 * {@link DtlsListener} callbacks on the handshake executor.
 */
public final class DtlsServerSession {

    private final DtlsCertificate certificate;
    private final PeerFingerprint remoteFingerprint;
    private final DtlsConnection connection;

    public DtlsServerSession(DtlsCertificate cert, String remoteFingerprintAlgorithm, String remoteFingerprint,
                             Executor handshakeExecutor, DatagramSender sender, DtlsListener listener,
                             Duration handshakeTimeout) {
        this.certificate = Objects.requireNonNull(cert, "cert");
        this.remoteFingerprint = new PeerFingerprint(remoteFingerprintAlgorithm, remoteFingerprint);
        this.connection = new DtlsConnection(handshakeExecutor, sender, listener, handshakeTimeout, ServerHandshake::new);
    }

    /**
     * A datagram from the peer whose first byte is in the DTLS range (RFC 7983: 20..63). Called on the
     * transport's event loop; the caller keeps ownership of {@code datagram} (its indices are not changed)
     * and a copy is queued. Malformed datagrams and those beyond the queue's capacity are dropped.
     */
    public void onDatagram(ByteBuf datagram) {
        connection.onDatagram(datagram, true);
    }

    public boolean isConnected() {
        return connection.isConnected();
    }

    /** Datagrams dropped as malformed, oversized, late or beyond the queue's capacity. */
    public long droppedDatagrams() {
        return connection.droppedDatagrams();
    }

    /** Sends close_notify if connected and stops any handshake in progress. Idempotent. */
    public void close() {
        connection.shutdown();
    }

    private final class ServerHandshake implements DtlsConnection.Handshake {
        private final Server server = new Server(DtlsPeers.newCrypto());

        @Override
        public DTLSTransport run(DatagramTransport transport) throws IOException {
            DTLSServerProtocol protocol = new DTLSServerProtocol();
            // ICE has already verified the peer's address: no HelloVerifyRequest round trip (RFC 6347 4.2.1).
            protocol.setVerifyRequests(false);
            return protocol.accept(server, transport);
        }

        @Override
        public SrtpKeys exportKeys() throws IOException {
            if (server.keys == null) {
                throw new IOException("handshake completed without SRTP keys");
            }
            return server.keys;
        }
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    private final class Server extends DefaultTlsServer {
        private final BcTlsCrypto crypto;
        private SrtpProfile selectedProfile;
        private volatile SrtpKeys keys;

        Server(BcTlsCrypto crypto) {
            super(crypto);
            this.crypto = crypto;
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return ProtocolVersion.DTLSv12.only();
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return DtlsPeers.CIPHER_SUITES.clone();
        }

        @Override
        public int getHandshakeTimeoutMillis() {
            return connection.handshakeTimeoutMillis();
        }

        @Override
        protected TlsCredentialedSigner getECDSASignerCredentials() throws IOException {
            return certificate.signer(context, crypto);
        }

        @Override
        public CertificateRequest getCertificateRequest() {
            short[] types = {ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign};
            return new CertificateRequest(types, TlsUtils.getDefaultSupportedSignatureAlgorithms(context), null);
        }

        @Override
        public void notifyClientCertificate(Certificate clientCertificate) throws IOException {
            if (clientCertificate == null || clientCertificate.isEmpty()) {
                connection.reject("no client certificate");
                throw new TlsFatalAlert(AlertDescription.handshake_failure);
            }
            if (!remoteFingerprint.matches(clientCertificate)) {
                connection.reject("fingerprint mismatch");
                throw new TlsFatalAlert(AlertDescription.bad_certificate);
            }
        }

        @Override
        public void processClientExtensions(Hashtable clientExtensions) throws IOException {
            super.processClientExtensions(clientExtensions);
            UseSRTPData offer = TlsSRTPUtils.getUseSRTPExtension(clientExtensions);
            if (offer != null) {
                for (SrtpProfile candidate : DtlsPeers.PREFERRED_PROFILES) {
                    for (int id : offer.getProtectionProfiles()) {
                        if (id == candidate.id()) {
                            selectedProfile = candidate;
                            return;
                        }
                    }
                }
            }
            connection.reject("no common SRTP profile");
            throw new TlsFatalAlert(AlertDescription.handshake_failure);
        }

        @Override
        public Hashtable getServerExtensions() throws IOException {
            Hashtable extensions = super.getServerExtensions();
            TlsSRTPUtils.addUseSRTPExtension(extensions,
                new UseSRTPData(new int[] {selectedProfile.id()}, TlsUtils.EMPTY_BYTES));
            return extensions;
        }

        @Override
        public void notifyHandshakeComplete() throws IOException {
            super.notifyHandshakeComplete();
            // BouncyCastle allows the RFC 5705 exporter only from here.
            keys = DtlsPeers.exportKeys(context, selectedProfile, false);
        }

        @Override
        public void notifyAlertReceived(short alertLevel, short alertDescription) {
            connection.onAlertReceived(alertLevel, alertDescription);
        }
    }
}
