package io.cascadesfu.core.dtls;

import java.io.IOException;
import java.time.Duration;
import java.util.Hashtable;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;

import io.netty.buffer.ByteBuf;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.DTLSClientProtocol;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.DatagramTransport;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsCredentials;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsSRTPUtils;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.UseSRTPData;
import org.bouncycastle.tls.crypto.impl.bc.BcTlsCrypto;

/**
 * DTLS 1.2 client role for one transport (a=setup:active): used by tests, the load tool and node-to-node
 * links. Same threading and lifecycle as {@link DtlsServerSession}, except that the handshake starts with
 * {@link #start()}. It offers the given SRTP profiles, presents our certificate and accepts the server's
 * only if it hashes to the fingerprint from the peer's SDP.
 */
public final class DtlsClientSession {

    private final DtlsCertificate certificate;
    private final PeerFingerprint remoteFingerprint;
    private final List<SrtpProfile> offeredProfiles;
    private final DtlsConnection connection;

    /** A client offering every supported profile, GCM first. */
    public DtlsClientSession(DtlsCertificate cert, String remoteFingerprintAlgorithm, String remoteFingerprint,
                             Executor handshakeExecutor, DatagramSender sender, DtlsListener listener,
                             Duration handshakeTimeout) {
        this(cert, remoteFingerprintAlgorithm, remoteFingerprint, handshakeExecutor, sender, listener,
            handshakeTimeout, DtlsPeers.PREFERRED_PROFILES);
    }

    /** A client offering only {@code offeredProfiles}, in that order. */
    public DtlsClientSession(DtlsCertificate cert, String remoteFingerprintAlgorithm, String remoteFingerprint,
                             Executor handshakeExecutor, DatagramSender sender, DtlsListener listener,
                             Duration handshakeTimeout, List<SrtpProfile> offeredProfiles) {
        this.certificate = Objects.requireNonNull(cert, "cert");
        this.remoteFingerprint = new PeerFingerprint(remoteFingerprintAlgorithm, remoteFingerprint);
        if (offeredProfiles.isEmpty()) {
            throw new IllegalArgumentException("offer at least one SRTP profile");
        }
        this.offeredProfiles = List.copyOf(offeredProfiles);
        this.connection = new DtlsConnection(handshakeExecutor, sender, listener, handshakeTimeout, ClientHandshake::new);
    }

    /** Sends the ClientHello (on the handshake executor). Only the first call has an effect. */
    public void start() {
        connection.start();
    }

    /** Same contract as {@link DtlsServerSession#onDatagram}. */
    public void onDatagram(ByteBuf datagram) {
        connection.onDatagram(datagram, false);
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

    private final class ClientHandshake implements DtlsConnection.Handshake {
        private final Client client = new Client(DtlsPeers.newCrypto());

        @Override
        public DTLSTransport run(DatagramTransport transport) throws IOException {
            return new DTLSClientProtocol().connect(client, transport);
        }

        @Override
        public SrtpKeys exportKeys() throws IOException {
            if (client.keys == null) {
                throw new IOException("handshake completed without SRTP keys");
            }
            return client.keys;
        }
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    private final class Client extends DefaultTlsClient {
        private final BcTlsCrypto crypto;
        private SrtpProfile selectedProfile;
        private volatile SrtpKeys keys;

        Client(BcTlsCrypto crypto) {
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
        public Hashtable getClientExtensions() throws IOException {
            Hashtable extensions = org.bouncycastle.tls.TlsExtensionsUtils.ensureExtensionsInitialised(super.getClientExtensions());
            int[] ids = new int[offeredProfiles.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = offeredProfiles.get(i).id();
            }
            TlsSRTPUtils.addUseSRTPExtension(extensions, new UseSRTPData(ids, TlsUtils.EMPTY_BYTES));
            return extensions;
        }

        @Override
        public void processServerExtensions(Hashtable serverExtensions) throws IOException {
            super.processServerExtensions(serverExtensions);
            UseSRTPData answer = TlsSRTPUtils.getUseSRTPExtension(serverExtensions);
            if (answer == null || answer.getProtectionProfiles().length != 1) {
                connection.reject("no common SRTP profile");
                throw new TlsFatalAlert(AlertDescription.illegal_parameter);
            }
            SrtpProfile profile = SrtpProfile.fromId(answer.getProtectionProfiles()[0]);
            if (profile == null || !offeredProfiles.contains(profile)) {
                connection.reject("server chose an SRTP profile we did not offer");
                throw new TlsFatalAlert(AlertDescription.illegal_parameter);
            }
            selectedProfile = profile;
        }

        @Override
        public TlsAuthentication getAuthentication() {
            return new TlsAuthentication() {
                @Override
                public void notifyServerCertificate(TlsServerCertificate serverCertificate) throws IOException {
                    if (!remoteFingerprint.matches(serverCertificate.getCertificate())) {
                        connection.reject("fingerprint mismatch");
                        throw new TlsFatalAlert(AlertDescription.bad_certificate);
                    }
                }

                @Override
                public TlsCredentials getClientCredentials(CertificateRequest certificateRequest) throws IOException {
                    return certificate.signer(context, crypto);
                }
            };
        }

        @Override
        public void notifyHandshakeComplete() throws IOException {
            super.notifyHandshakeComplete();
            // BouncyCastle allows the RFC 5705 exporter only from here.
            keys = DtlsPeers.exportKeys(context, selectedProfile, true);
        }

        @Override
        public void notifyAlertReceived(short alertLevel, short alertDescription) {
            connection.onAlertReceived(alertLevel, alertDescription);
        }
    }
}
