package io.cascadesfu.core.rtcp;

import static io.cascadesfu.core.rtp.TestBytes.guarded;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** validateCompound and the accessors it vouches for, on arbitrary and RTCP-shaped bytes. */
class RtcpPropertyTest {

    private static final int GUARD = 16;

    /** Sequences of packets with version 2, a plausible type and a length that is often right. */
    @Provide
    Arbitrary<byte[]> compoundLike() {
        Arbitrary<byte[]> packet = Arbitraries.integers().between(0, 12).flatMap(words ->
                Arbitraries.bytes().array(byte[].class).ofSize(4 + 4 * words).map(b -> {
                    b[0] = (byte) (0x80 | (b[0] & 0x3F));
                    b[1] = (byte) (200 + Math.floorMod(b[1], 8));
                    if (b[2] % 4 != 0) { // mostly a consistent length
                        b[2] = 0;
                        b[3] = (byte) words.intValue();
                    }
                    return b;
                }));
        return packet.list().ofMinSize(1).ofMaxSize(5).map(list -> {
            int total = list.stream().mapToInt(p -> p.length).sum();
            byte[] out = new byte[total];
            int pos = 0;
            for (byte[] p : list) {
                System.arraycopy(p, 0, out, pos, p.length);
                pos += p.length;
            }
            return out;
        });
    }

    @Provide
    Arbitrary<byte[]> anyBytes() {
        return Arbitraries.oneOf(compoundLike(), Arbitraries.bytes().array(byte[].class).ofMaxSize(80));
    }

    @Property(tries = 3000)
    void validateCompoundNeverThrowsNorReadsOutside(@ForAll("anyBytes") byte[] bytes) {
        ByteBuf exact = Unpooled.buffer(bytes.length, bytes.length).writeBytes(bytes);
        ByteBuf zeros = guarded(bytes, GUARD, 0x00);
        ByteBuf ones = guarded(bytes, GUARD, 0xFF);
        try {
            int count = RtcpPacket.validateCompound(exact);
            assertEquals(count, RtcpPacket.validateCompound(zeros));
            assertEquals(count, RtcpPacket.validateCompound(ones));
            RtcpPacket.looksLikeRtcp(exact);
            if (count > 0) {
                // Everything validateCompound vouches for is readable within the exact buffer.
                int off = 0;
                for (int i = 0; i < count; i++) {
                    int pt = RtcpPacket.packetType(exact, off);
                    int len = RtcpPacket.lengthBytes(exact, off);
                    assertTrue(off + len <= bytes.length);
                    if (pt == RtcpPacket.SR || pt == RtcpPacket.RR) {
                        for (int b = 0; b < RtcpPacket.count(exact, off); b++) {
                            int block = RtcpPacket.reportBlockOffset(exact, off, b);
                            RtcpPacket.blockDelaySinceLastSr(exact, block);
                        }
                    }
                    if (pt == RtcpPacket.RTPFB || pt == RtcpPacket.PSFB) {
                        RtcpPacket.mediaSsrc(exact, off);
                        if (RtcpPacket.isRemb(exact, off)) {
                            assertTrue(RtcpPacket.rembBitrateBps(exact, off) >= 0);
                            for (int s = 0; s < RtcpPacket.rembSsrcCount(exact, off); s++) {
                                RtcpPacket.rembSsrc(exact, off, s);
                            }
                        }
                        if (RtcpPacket.isFir(exact, off)) {
                            RtcpPacket.firSsrc(exact, off);
                        }
                        if (RtcpPacket.isNack(exact, off)) {
                            for (int n = 0; n < RtcpPacket.nackCount(exact, off); n++) {
                                RtcpPacket.nackBlp(exact, off, n);
                            }
                        }
                    }
                    if (pt == RtcpPacket.SDES) {
                        RtcpPacket.sdesCname(exact, off);
                    }
                    off += len;
                }
                assertEquals(bytes.length, off, "lengths add up exactly");
            }
        } finally {
            exact.release();
            zeros.release();
            ones.release();
        }
    }
}
