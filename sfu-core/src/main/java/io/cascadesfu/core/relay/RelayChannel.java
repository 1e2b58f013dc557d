package io.cascadesfu.core.relay;

import io.cascadesfu.core.bwe.TransportWide;
import io.cascadesfu.core.transport.MediaTransport;
import io.cascadesfu.core.transport.TransportListener;
import io.netty.buffer.ByteBuf;

/**
 * One room's part of a {@link RelayLink}: the transport of that room's relay member. What its peer sends goes out
 * on the link's wire; what arrives on the wire for its SSRCs is handed to it. It is connected while the wire is,
 * and closes with it.
 *
 * <p>Threading: the link's worker loop.
 */
public final class RelayChannel implements MediaTransport {
    private final String id;
    private final RelayLink link;
    final int number;
    final boolean ownNumbering;
    private final int slot;
    private final long rtcpSsrc;
    private TransportListener listener;
    private boolean closed;

    RelayChannel(String id, RelayLink link, int number, boolean ownNumbering, int slot, long rtcpSsrc) {
        this.id = id;
        this.link = link;
        this.number = number;
        this.ownNumbering = ownNumbering;
        this.slot = slot;
        this.rtcpSsrc = rtcpSsrc;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public boolean isConnected() {
        return !closed && link.isUp();
    }

    @Override
    public void sendRtp(ByteBuf packet) {
        MediaTransport wire = wireFor(packet);
        if (wire != null) {
            wire.sendRtp(packet);
        }
    }

    @Override
    public void sendRtcp(ByteBuf packet) {
        MediaTransport wire = wireFor(packet);
        if (wire != null) {
            wire.sendRtcp(packet);
        }
    }

    /** The wire to send {@code packet} on, or null (the packet released) while this channel cannot send. */
    private MediaTransport wireFor(ByteBuf packet) {
        MediaTransport wire = link.wire();
        if (closed || wire == null || !link.isUp()) {
            packet.release();
            return null;
        }
        return wire;
    }

    @Override
    public void flush() {
        MediaTransport wire = link.wire();
        if (wire != null) {
            wire.flush();
        }
    }

    @Override
    public void setListener(TransportListener listener) {
        this.listener = listener;
        if (listener != null && !closed && link.isUp()) {
            link.worker().loop().execute(() -> {
                if (!closed && link.isUp() && this.listener == listener) {
                    listener.onTransportConnected(this); // the wire was up before this room's channel opened
                }
            });
        }
    }

    @Override
    public void onSsrcRetired(long ssrc) {
        MediaTransport wire = link.wire();
        if (wire != null) {
            wire.onSsrcRetired(ssrc);
        }
    }

    @Override
    public boolean carriesTransportWideNumbers() {
        return true; // the sending node numbers what it sends on the link (hop by hop)
    }

    @Override
    public boolean understandsLayerRequests() {
        return true;
    }

    @Override
    public TransportWide sharedTransportWide() {
        return link.wide();
    }

    @Override
    public int sharedSlot() {
        return slot;
    }

    @Override
    public long rtcpSsrc() {
        return rtcpSsrc;
    }

    void wireConnected() {
        if (!closed && listener != null) {
            listener.onTransportConnected(this);
        }
    }

    void deliverRtp(ByteBuf packet, int payloadOffset, long nowNs) {
        if (!closed && listener != null) {
            listener.onTransportRtp(this, packet, payloadOffset, nowNs);
        }
    }

    void deliverRtcp(ByteBuf packet, long nowNs) {
        if (!closed && listener != null) {
            listener.onTransportRtcp(this, packet, nowNs);
        }
    }

    @Override
    public void close(String reason) {
        if (closed) {
            return;
        }
        closed = true;
        link.removed(this);
        if (listener != null) {
            listener.onTransportClosed(this, reason);
        }
    }

    @Override
    public String toString() {
        return "RelayChannel[" + id + " #" + number + (ownNumbering ? " own" : " theirs") + " on " + link + "]";
    }
}
