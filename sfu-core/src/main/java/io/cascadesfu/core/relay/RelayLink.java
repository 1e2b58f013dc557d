package io.cascadesfu.core.relay;

import io.cascadesfu.core.bwe.TransportWide;
import io.cascadesfu.core.client.RtcClient;
import io.cascadesfu.core.ice.IceCredentials;
import io.cascadesfu.core.media.MediaPeer;
import io.cascadesfu.core.metrics.DropReason;
import io.cascadesfu.core.room.Endpoint;
import io.cascadesfu.core.rtp.RtpPacket;
import io.cascadesfu.core.transport.MediaTransport;
import io.cascadesfu.core.transport.TransportListener;
import io.cascadesfu.core.transport.WebRtcTransport;
import io.cascadesfu.core.worker.MediaWorker;
import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The one relay link between this node and a peer node: a single UDP path with one ICE check, one DTLS handshake
 * and one SRTP session (the <em>wire</em>), carrying every room's streams both ways. Each room has a channel on it
 * ({@link RelayChannel}), the transport of that room's relay member, so the forwarding core sees one transport per
 * room as before while the wire, its transport-wide numbering and its bandwidth estimate ({@link TransportWide})
 * are shared.
 *
 * <p>Demultiplexing by SSRC, with no lookup table: every SSRC on the link is {@code side:1 | channel:11 |
 * index:20}. A node numbers the streams it <em>receives</em> for a room (its "own" channel {@code c}, on its side
 * bit); the far node's channel serving them ("theirs", the same number, the other side bit) sends them on those
 * SSRCs. Each channel's peer also sends its RTCP from an SSRC of its channel (index {@code 0xFFFFF} for the
 * receiving end, {@code 0xFFFFE} for the sending end), so the first SSRC of every RTP packet and RTCP compound
 * names its channel: side bit equal to this node's = one of its own channels, else one of its channels serving
 * the far node. The link's bandwidth probes use {@link MediaPeer#LINK_PROBE_SSRC} and go to any channel (their
 * arrival is recorded in the shared state, whichever channel reads it).
 *
 * <p>Which node dials the wire is the cascade's choice (the lower id); the other accepts it on its media port like
 * a browser's transport. A new wire replaces the old one and closes the channels that were on it; a wire that
 * closes (consent lost, not up within {@link #SETUP_TIMEOUT_MS}) closes its channels, whose rooms dial again.
 *
 * <p>Threading: made on the control thread, which calls {@link #dial}, {@link #connect}, {@link #accept},
 * {@link #close} (each hands a task to the worker); everything else runs on the link's worker loop.
 */
public final class RelayLink implements TransportListener {
    public static final int CHANNEL_BITS = 11;
    public static final int CHANNELS = 1 << CHANNEL_BITS;
    public static final int INDEX_BITS = 20;
    private static final int INDEX_MASK = (1 << INDEX_BITS) - 1;
    /** Index of the receiving end's RTCP SSRC in its channel. */
    static final int RECEIVER_RTCP_INDEX = INDEX_MASK;
    /** Index of the sending end's RTCP SSRC in its channel. */
    static final int SENDER_RTCP_INDEX = INDEX_MASK - 1;
    /** Streams a room's channel can number: the indexes below the two RTCP ones. */
    public static final int STREAMS_PER_CHANNEL = SENDER_RTCP_INDEX;
    /** A dialed wire not up this long after it was connected is closed (its rooms dial again, or go around). */
    public static final long SETUP_TIMEOUT_MS = 8_000;

    private final String id;
    private final MediaWorker worker;
    private final int side;
    private final TransportWide wide = new TransportWide();
    // Worker-owned.
    private final RelayChannel[] own = new RelayChannel[CHANNELS];
    private final RelayChannel[] theirs = new RelayChannel[CHANNELS];
    private MediaTransport wire;
    private int wireGeneration;
    /** A channel to hand the link's probes to (any will do), null when there is none. */
    private RelayChannel anyChannel;
    private volatile boolean up;
    /** The generation of the last wire that closed; a wire is open while the newest one has a higher one. */
    private volatile int closedGeneration;
    private int dialedGeneration; // control thread

    /**
     * A link named {@code id} on {@code worker}; {@code side} is this node's side bit (0 or 1, the far node has
     * the other).
     */
    public RelayLink(String id, MediaWorker worker, int side) {
        if (side != 0 && side != 1) {
            throw new IllegalArgumentException("side must be 0 or 1");
        }
        this.id = id;
        this.worker = worker;
        this.side = side;
    }

    /** The first SSRC of channel {@code channel} numbered by the node on {@code side}. */
    public static long ssrcBase(int side, int channel) {
        return ((long) side << 31) | ((long) channel << INDEX_BITS);
    }

    public String id() {
        return id;
    }

    public MediaWorker worker() {
        return worker;
    }

    public int side() {
        return side;
    }

    /** Whether the wire is up (ICE and DTLS done, consent holds). Any thread. */
    public boolean isUp() {
        return up;
    }

    /** Whether a wire was opened here and has not closed since (connecting or up). Control thread. */
    public boolean hasWire() {
        return dialedGeneration > closedGeneration;
    }

    /**
     * The transport of a room's channel, for {@code Member.createEndpoint}: {@code own} when this node numbered
     * it (it receives that room's streams from the far node), else the far node's channel {@code number} served
     * from here.
     */
    public Endpoint.TransportFactory channel(int number, boolean ownNumbering) {
        if (number < 0 || number >= CHANNELS) {
            throw new IllegalArgumentException("channel " + number + " out of range");
        }
        return (w, endpointId, credentials) -> {
            if (w != worker) {
                throw new IllegalStateException("a relay channel must be on its link's worker " + worker.index());
            }
            RelayChannel[] table = ownNumbering ? own : theirs;
            RelayChannel old = table[number];
            if (old != null) {
                old.close("replaced by a new channel " + number);
            }
            int channelSide = ownNumbering ? side : 1 - side;
            long rtcpSsrc = ssrcBase(channelSide, number) | (ownNumbering ? RECEIVER_RTCP_INDEX : SENDER_RTCP_INDEX);
            RelayChannel c = new RelayChannel(endpointId, this, number, ownNumbering,
                    (ownNumbering ? 0 : CHANNELS) + number, rtcpSsrc);
            table[number] = c;
            if (anyChannel == null) {
                anyChannel = c;
            }
            return c;
        };
    }

    /**
     * Opens the wire from this node: an ICE/DTLS client on {@code bindAddress} with {@code credentials} (announced
     * to the far node over the control channel, with this node's fingerprint). Replaces any previous wire.
     * Control thread.
     */
    public void dial(InetSocketAddress bindAddress, IceCredentials credentials) {
        int generation = ++dialedGeneration;
        worker.execute(() -> attach(new RelayTransport(id, worker, bindAddress, credentials), generation));
    }

    /** Connects the dialed wire to the far node's media port, as its control channel announced it. Control thread. */
    public void connect(RtcClient.Remote remote) {
        int generation = dialedGeneration;
        worker.execute(() -> {
            if (wire instanceof RelayTransport r && wireGeneration == generation) {
                r.connect(remote);
                worker.loop().schedule(() -> {
                    if (wire == r && wireGeneration == generation && !r.isConnected()) {
                        r.close("relay link not up after " + SETUP_TIMEOUT_MS + " ms (" + r.client().progress() + ")");
                    }
                }, SETUP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            }
        });
    }

    /**
     * Accepts the wire the far node dials: a WebRTC transport on this worker's media port with {@code local}
     * credentials, checking the far node's ICE credentials and pinning its DTLS fingerprint. Replaces any previous
     * wire. Control thread.
     */
    public void accept(IceCredentials local, String remoteUfrag, String remotePwd, String fingerprint) {
        int generation = ++dialedGeneration;
        worker.execute(() -> {
            WebRtcTransport t = worker.createWebRtcTransport(id, local);
            t.setRemoteParameters(remoteUfrag, remotePwd, "sha-256", fingerprint);
            attach(t, generation);
        });
    }

    /** The wire's progress, for logs. Control thread. */
    public CompletableFuture<String> progress() {
        return CompletableFuture.supplyAsync(() -> wire instanceof RelayTransport r ? r.client().progress()
                : wire == null ? "no wire" : up ? "up" : "accepted, not up", worker::execute);
    }

    /** What the admin view shows of the wire: up, channels open, and its one estimate (-1: none yet). */
    public record WireStats(boolean up, int channels, long estimateBps, long ackedBps) {
    }

    /** The wire's state, read on its worker. Any thread. */
    public CompletableFuture<WireStats> stats() {
        return CompletableFuture.supplyAsync(() -> {
            int[] n = new int[1];
            forEachChannel(c -> n[0]++);
            var e = wide.estimatorOrNull();
            return new WireStats(up, n[0], e == null ? -1 : e.estimateBps(), e == null ? 0 : e.ackedBps());
        }, worker::execute);
    }

    /** Closes the wire and every channel. Control thread. */
    public void close(String reason) {
        worker.execute(() -> {
            MediaTransport w = wire;
            if (w != null) {
                w.close(reason);
            }
            closeChannels(reason);
        });
    }

    private void attach(MediaTransport next, int generation) {
        worker.assertInLoop();
        MediaTransport old = wire;
        int oldGeneration = wireGeneration;
        wire = next;
        wireGeneration = generation;
        up = false;
        if (old != null) {
            closedGeneration = Math.max(closedGeneration, oldGeneration);
            old.close("replaced by a new wire");
            closeChannels("relay link replaced");
        }
        next.setListener(this);
    }

    private void closeChannels(String reason) {
        forEachChannel(c -> c.close(reason));
    }

    /** Every open channel, own then theirs by number (closing one while iterating is fine). */
    private void forEachChannel(java.util.function.Consumer<RelayChannel> action) {
        for (RelayChannel[] table : new RelayChannel[][] {own, theirs}) {
            for (int i = 0; i < CHANNELS; i++) {
                if (table[i] != null) {
                    action.accept(table[i]);
                }
            }
        }
    }

    void removed(RelayChannel c) {
        RelayChannel[] table = c.ownNumbering ? own : theirs;
        if (table[c.number] == c) {
            table[c.number] = null;
        }
        if (anyChannel == c) {
            anyChannel = findChannel();
        }
    }

    TransportWide wide() {
        return wide;
    }

    MediaTransport wire() {
        return wire;
    }

    // ------------------------------------------------------------------- the wire's events, on the worker loop

    @Override
    public void onTransportConnected(MediaTransport t) {
        if (t != wire) {
            return;
        }
        up = true;
        forEachChannel(RelayChannel::wireConnected);
    }

    @Override
    public void onTransportRtp(MediaTransport t, ByteBuf packet, int payloadOffset, long nowNs) {
        long ssrc = RtpPacket.ssrc(packet);
        RelayChannel c = ssrc == MediaPeer.LINK_PROBE_SSRC ? anyChannel : channelOf(ssrc);
        if (c == null) {
            worker.metrics().drop(DropReason.UNKNOWN_SSRC);
            return;
        }
        c.deliverRtp(packet, payloadOffset, nowNs);
    }

    @Override
    public void onTransportRtcp(MediaTransport t, ByteBuf packet, long nowNs) {
        if (packet.readableBytes() < 8) {
            worker.metrics().drop(DropReason.RTCP_MALFORMED);
            return;
        }
        RelayChannel c = channelOf(packet.getUnsignedInt(packet.readerIndex() + 4));
        if (c == null) {
            worker.metrics().drop(DropReason.UNKNOWN_SSRC);
            return;
        }
        c.deliverRtcp(packet, nowNs);
    }

    @Override
    public void onTransportClosed(MediaTransport t, String reason) {
        if (t != wire) {
            return;
        }
        wire = null;
        up = false;
        closedGeneration = Math.max(closedGeneration, wireGeneration);
        closeChannels(reason);
    }

    private RelayChannel channelOf(long ssrc) {
        int channel = (int) (ssrc >>> INDEX_BITS) & (CHANNELS - 1);
        return (int) (ssrc >>> 31) == side ? own[channel] : theirs[channel];
    }

    private RelayChannel findChannel() {
        for (int i = 0; i < CHANNELS; i++) {
            if (own[i] != null) {
                return own[i];
            }
        }
        for (int i = 0; i < CHANNELS; i++) {
            if (theirs[i] != null) {
                return theirs[i];
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return "RelayLink[" + id + " on worker " + worker.index() + (up ? ", up" : "") + "]";
    }
}
