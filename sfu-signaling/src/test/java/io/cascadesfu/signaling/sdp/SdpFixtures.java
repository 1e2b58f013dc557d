package io.cascadesfu.signaling.sdp;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Real Chromium 156 offers under src/test/resources/sdp (see /work/shared/fixtures/sdp/README.md). */
final class SdpFixtures {
    static final String SENDONLY = "chromium-156-offer-sendonly.sdp";
    static final String SIMULCAST = "chromium-156-offer-simulcast.sdp";
    static final String RECVONLY = "chromium-156-offer-recvonly.sdp";
    static final String H264 = "chromium-156-offer-h264.sdp";
    static final List<String> ALL = List.of(SENDONLY, SIMULCAST, RECVONLY, H264);

    private SdpFixtures() {
    }

    static String load(String name) {
        try (InputStream in = SdpFixtures.class.getResourceAsStream("/sdp/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource /sdp/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The fixture without every line starting with {@code prefix}. */
    static String withoutLines(String sdp, String prefix) {
        StringBuilder out = new StringBuilder();
        for (String line : sdp.split("\r\n")) {
            if (!line.startsWith(prefix)) {
                out.append(line).append("\r\n");
            }
        }
        return out.toString();
    }

    /** The sendonly offer with a data channel section added to the BUNDLE group, as Chromium writes one. */
    static String sendonlyWithDataChannel() {
        String sdp = load(SENDONLY).replace("a=group:BUNDLE 0 1\r\n", "a=group:BUNDLE 0 1 2\r\n");
        return sdp
                + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                + "c=IN IP4 0.0.0.0\r\n"
                + "a=ice-ufrag:GNWU\r\n"
                + "a=ice-pwd:P/3Ev40dTBeO8+BCh4IDcYi/\r\n"
                + "a=ice-options:trickle\r\n"
                + "a=fingerprint:sha-256 87:0A:3E:37:64:36:C5:D6:76:E2:E4:01:E6:EB:FC:5C:52:0B:91:8A:75:3F:38:82:F4:"
                + "6B:B4:91:5C:9F:C4:7A\r\n"
                + "a=setup:actpass\r\n"
                + "a=mid:2\r\n"
                + "a=sctp-port:5000\r\n"
                + "a=max-message-size:262144\r\n";
    }
}
