package io.cascadesfu.core.srtp;

import io.cascadesfu.core.dtls.SrtpProfile;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;

class SrtpSessionPropertyTest {

    private final SrtpSession gcm = SrtpSessionTest.pair(SrtpProfile.AEAD_AES_128_GCM, 11)[1];
    private final SrtpSession cm = SrtpSessionTest.pair(SrtpProfile.AES_CM_128_HMAC_SHA1_80, 12)[1];

    @Property(tries = 500)
    void unprotectNeverThrowsOnArbitraryBytes(@ForAll @Size(max = 300) byte[] bytes, @ForAll boolean direct,
                                              @ForAll boolean rtpVersion) {
        byte[] packet = bytes.clone();
        if (rtpVersion && packet.length > 0) {
            packet[0] = (byte) (0x80 | (packet[0] & 0x3F)); // reach past the version check
        }
        for (SrtpSession session : new SrtpSession[] {gcm, cm}) {
            for (int rtcp = 0; rtcp < 2; rtcp++) {
                ByteBuf buf = direct ? Unpooled.directBuffer(packet.length + 32) : Unpooled.buffer(packet.length + 32);
                try {
                    buf.writeBytes(packet);
                    int writerIndex = buf.writerIndex();
                    SrtpResult result = rtcp == 0 ? session.unprotectRtp(buf) : session.unprotectRtcp(buf);
                    if (result != SrtpResult.OK && buf.writerIndex() != writerIndex) {
                        throw new AssertionError("indices moved on " + result);
                    }
                } finally {
                    buf.release();
                }
            }
        }
    }
}
