package io.cascadesfu.core.srtp;

import org.jitsi.utils.ByteArrayBuffer;

/**
 * jitsi-srtp's view of one packet: a window {@code [offset, offset + length)} over a byte array that may grow
 * up to {@code limit} (the end of the ByteBuf's capacity, or of the session's scratch array). Rewrapped for
 * every packet, so no object is made per packet. Never reallocates: running out of room is an error.
 */
final class PacketBytes implements ByteArrayBuffer {

    private byte[] buffer;
    private int offset;
    private int length;
    private int limit;

    void wrap(byte[] buffer, int offset, int length, int limit) {
        this.buffer = buffer;
        this.offset = offset;
        this.length = length;
        this.limit = limit;
    }

    /** Drops the reference to the packet's array once the operation is done. */
    void clear() {
        buffer = null;
        offset = 0;
        length = 0;
        limit = 0;
    }

    @Override
    public byte[] getBuffer() {
        return buffer;
    }

    @Override
    public int getOffset() {
        return offset;
    }

    @Override
    public int getLength() {
        return length;
    }

    @Override
    public void setLength(int length) {
        if (length < 0 || offset + length > limit) {
            throw new IllegalArgumentException("length " + length + " out of bounds");
        }
        this.length = length;
    }

    @Override
    public void setOffset(int offset) {
        if (offset < 0 || offset + length > limit) {
            throw new IllegalArgumentException("offset " + offset + " out of bounds");
        }
        this.offset = offset;
    }

    @Override
    public boolean isInvalid() {
        return false;
    }

    @Override
    public void readRegionToBuff(int regionOffset, int regionLength, byte[] destination) {
        if (regionOffset < 0 || regionLength < 0 || regionOffset + regionLength > length) {
            throw new IllegalArgumentException("region out of bounds");
        }
        System.arraycopy(buffer, offset + regionOffset, destination, 0, regionLength);
    }

    @Override
    public void grow(int howMuch) {
        if (howMuch > 0 && offset + length + howMuch > limit) {
            throw new IllegalStateException("no room to grow by " + howMuch);
        }
    }

    @Override
    public void append(byte[] data, int dataLength) {
        grow(dataLength);
        System.arraycopy(data, 0, buffer, offset + length, dataLength);
        length += dataLength;
    }

    @Override
    public void shrink(int howMuch) {
        if (howMuch <= 0) {
            return;
        }
        length = Math.max(0, length - howMuch);
    }
}
