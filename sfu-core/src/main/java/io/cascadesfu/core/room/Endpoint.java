package io.cascadesfu.core.room;

import io.cascadesfu.core.ice.IceCredentials;
import io.cascadesfu.core.media.MediaPeer;
import io.cascadesfu.core.media.PeerListener;
import io.cascadesfu.core.media.Router;
import io.cascadesfu.core.transport.MediaTransport;
import io.cascadesfu.core.transport.WebRtcTransport;
import io.cascadesfu.core.worker.MediaWorker;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A member's transport, seen from the control thread (a browser's WebRTC transport; an in-memory one in tests): its ICE credentials and candidates are known at
 * once (made here), while the transport itself and its peer on the room's router are made, and later closed,
 * on the member's worker by tasks handed to it in order.
 *
 * <p>Threading: public methods on the control thread; {@link PeerListener} callbacks arrive on the worker and
 * hop to the control thread. The fields marked worker-owned are only touched by tasks on the worker.
 */
public final class Endpoint implements PeerListener {
    /** Makes an endpoint's transport on its worker. Runs on that worker. */
    @FunctionalInterface
    public interface TransportFactory {
        MediaTransport create(MediaWorker worker, String id, IceCredentials localCredentials);
    }

    /** Browsers: ICE-lite, DTLS and SRTP on the worker's port. */
    public static final TransportFactory WEBRTC = MediaWorker::createWebRtcTransport;

    private final String id;
    private final Member member;
    private final MediaWorker worker;
    private final Router router;
    private final EndpointListener listener;
    private final List<Subscription> subscriptions = new ArrayList<>();
    private IceCredentials credentials = IceCredentials.random();
    private boolean connected;
    private boolean closed;
    // Worker-owned.
    private MediaTransport transport;
    private MediaPeer peer;

    Endpoint(String id, Member member, Router router, TransportFactory factory, EndpointListener listener) {
        this.id = id;
        this.member = member;
        this.worker = member.worker();
        this.router = router;
        this.listener = listener;
        IceCredentials initial = credentials;
        worker.execute(() -> {
            transport = factory.create(worker, id, initial);
            peer = router.addPeer(id, transport);
            peer.setListener(this);
        });
    }

    public String id() {
        return id;
    }

    public Member member() {
        return member;
    }

    public MediaWorker worker() {
        return worker;
    }

    /** The local ICE credentials to put in the SDP (new ones after {@link #restartIce}). */
    public IceCredentials localCredentials() {
        return credentials;
    }

    /** Host candidates of this endpoint's worker. */
    public List<InetSocketAddress> candidates() {
        return worker.candidates();
    }

    /** Passive ICE-TCP host candidates of this endpoint's worker; empty when ICE-TCP is off. */
    public List<InetSocketAddress> tcpCandidates() {
        return worker.tcpCandidates();
    }

    public boolean isConnected() {
        return connected;
    }

    public boolean isClosed() {
        return closed;
    }

    /** What the peer's SDP says: ICE credentials and the DTLS certificate fingerprint. */
    public void setRemoteParameters(String iceUfrag, String icePwd, String fingerprintAlgorithm, String fingerprint) {
        member.room().assertInControl();
        worker.execute(() -> {
            if (transport instanceof WebRtcTransport t) {
                t.setRemoteParameters(iceUfrag, icePwd, fingerprintAlgorithm, fingerprint);
            }
        });
    }

    /**
     * Dials the far node of a relay link (an endpoint made with {@code RelayTransport.factory}): its media address,
     * ICE credentials and DTLS fingerprint, as its control channel announced them.
     */
    /** This endpoint's media counters, read on its worker. Control thread. */
    public java.util.concurrent.CompletableFuture<LinkStats> stats() {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            MediaPeer p = peer;
            return p == null ? new LinkStats(false, 0, 0, 0, 0, 0, 0, -1, 0, 0) : p.stats(System.nanoTime());
        }, worker::execute);
    }

    /** For a relay endpoint: how far its connection got (see {@code RtcClient.progress}); else its state. */
    public java.util.concurrent.CompletableFuture<String> relayProgress() {
        return java.util.concurrent.CompletableFuture.supplyAsync(
                () -> transport instanceof io.cascadesfu.core.relay.RelayTransport r ? r.client().progress()
                        : String.valueOf(transport), worker::execute);
    }

    public void connectRelay(io.cascadesfu.core.client.RtcClient.Remote remote) {
        member.room().assertInControl();
        worker.execute(() -> {
            if (transport instanceof io.cascadesfu.core.relay.RelayTransport r) {
                r.connect(remote);
            }
        });
    }

    /** ICE restart: new local credentials, returned for the answer; the DTLS/SRTP session stays. */
    public IceCredentials restartIce() {
        member.room().assertInControl();
        IceCredentials next = IceCredentials.random();
        credentials = next;
        worker.execute(() -> {
            if (transport instanceof WebRtcTransport t) {
                t.restartIce(next);
            }
        });
        return next;
    }

    /** The transport. Worker loop only, in tasks handed over after this endpoint was made. */
    public MediaTransport transport() {
        worker.assertInLoop();
        return transport;
    }

    /** The worker-side peer. Worker loop only, in tasks handed over after this endpoint was made. */
    MediaPeer peer() {
        worker.assertInLoop();
        return peer;
    }

    void added(Subscription s) {
        subscriptions.add(s);
    }

    void removed(Subscription s) {
        subscriptions.remove(s);
    }

    /** Closes the subscriptions received here and the transport. Idempotent; the listener is not told. */
    void close(String reason) {
        if (closed) {
            return;
        }
        closed = true;
        for (Subscription s : new ArrayList<>(subscriptions)) {
            s.close();
        }
        subscriptions.clear();
        worker.execute(() -> router.removePeer(peer, reason));
    }

    @Override
    public void onPeerConnected(MediaPeer p) {
        worker.assertInLoop();
        member.room().control().execute(() -> {
            if (!closed) {
                connected = true;
                listener.onEndpointConnected(this);
            }
        });
    }

    @Override
    public void onPeerClosed(MediaPeer p, String reason) {
        worker.assertInLoop();
        member.room().control().execute(() -> {
            if (!closed) {
                connected = false;
                listener.onEndpointClosed(this, reason);
            }
        });
    }

    @Override
    public String toString() {
        return "Endpoint[" + id + " on " + worker + "]";
    }
}
