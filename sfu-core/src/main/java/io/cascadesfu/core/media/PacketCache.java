package io.cascadesfu.core.media;

import io.cascadesfu.core.rtp.RtpPacket;
import io.netty.buffer.ByteBuf;

/**
 * The last packets of a producer's stream ({@link #CAPACITY} of video, {@link #AUDIO_CAPACITY} of audio), by sequence number, so that a subscriber's NACK
 * (RFC 4585 6.2.1) is answered from the node instead of travelling to the publisher. Each slot holds a pooled copy
 * (never a slice of the receive batch); a new packet in a slot releases the one before.
 *
 * <p>Threading: the producer's worker loop only. Buffers: owned by the cache; {@link #get} lends one for the
 * duration of the call; {@link #clear} releases all.
 */
final class PacketCache {
    /** Slots for video: at 100-250 packets/s, 2-5 s of history, far more than a round trip. Power of two. */
    static final int CAPACITY = 512;
    /** Slots for audio (kept only where a relay link may ask for it): 50 packets/s, 2.5 s. Power of two. */
    static final int AUDIO_CAPACITY = 128;
    private final int mask;

    private final ByteBuf[] packets;
    private final int[] sequences;

    PacketCache() {
        this(CAPACITY);
    }

    PacketCache(int capacity) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        mask = capacity - 1;
        packets = new ByteBuf[capacity];
        sequences = new int[capacity];
    }

    /** Keeps a copy of {@code packet} (unchanged: the publisher's own numbering). {@code copy} is the new buffer. */
    void put(ByteBuf packet, ByteBuf copy) {
        copy.writeBytes(packet, packet.readerIndex(), packet.readableBytes());
        int seq = RtpPacket.sequenceNumber(packet);
        int slot = seq & mask;
        ByteBuf old = packets[slot];
        if (old != null) {
            old.release();
        }
        packets[slot] = copy;
        sequences[slot] = seq;
    }

    /** The cached packet with sequence number {@code seq}, borrowed; null if it is not (or no longer) here. */
    ByteBuf get(int seq) {
        int slot = seq & mask;
        ByteBuf p = packets[slot];
        return p != null && sequences[slot] == seq ? p : null;
    }

    void clear() {
        for (int i = 0; i < packets.length; i++) {
            if (packets[i] != null) {
                packets[i].release();
                packets[i] = null;
            }
        }
    }
}
