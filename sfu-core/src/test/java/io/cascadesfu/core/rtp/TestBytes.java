package io.cascadesfu.core.rtp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** Test buffers from bytes written as ints (so 0xFF needs no cast); the caller releases them. */
public final class TestBytes {

    private TestBytes() {
    }

    public static byte[] array(int... bytes) {
        byte[] out = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = (byte) bytes[i];
        }
        return out;
    }

    /** A leak-tracked heap buffer holding {@code bytes}. */
    public static ByteBuf buffer(int... bytes) {
        return buffer(array(bytes));
    }

    public static ByteBuf buffer(byte[] bytes) {
        ByteBuf buf = Unpooled.buffer(bytes.length);
        buf.writeBytes(bytes);
        return buf;
    }

    /**
     * A buffer holding {@code bytes} between {@code guard} bytes of {@code fill} on each side, with readerIndex and
     * writerIndex around {@code bytes}: for checking that code stays within them.
     */
    public static ByteBuf guarded(byte[] bytes, int guard, int fill) {
        ByteBuf buf = Unpooled.buffer(bytes.length + 2 * guard, bytes.length + 2 * guard);
        for (int i = 0; i < guard; i++) {
            buf.writeByte(fill);
        }
        buf.writeBytes(bytes);
        for (int i = 0; i < guard; i++) {
            buf.writeByte(fill);
        }
        buf.readerIndex(guard);
        buf.writerIndex(guard + bytes.length);
        return buf;
    }

    /** True if the {@code guard} bytes on each side of a {@link #guarded} buffer still all equal {@code fill}. */
    public static boolean guardsIntact(ByteBuf buf, int guard, int fill) {
        for (int i = 0; i < guard; i++) {
            if (buf.getByte(i) != (byte) fill || buf.getByte(buf.capacity() - 1 - i) != (byte) fill) {
                return false;
            }
        }
        return true;
    }

    /** The readable bytes, copied. */
    public static byte[] readable(ByteBuf buf) {
        byte[] out = new byte[buf.readableBytes()];
        buf.getBytes(buf.readerIndex(), out);
        return out;
    }
}
