package io.cascadesfu.core.rtp;

/** Codecs the SFU tells apart, by the encoding name of an SDP {@code a=rtpmap} line. */
public enum Codec {
    OPUS, VP8, VP9, H264, AV1, UNKNOWN;

    /**
     * Maps an rtpmap encoding name (case-insensitive, as in {@code a=rtpmap:96 VP8/90000}) to a codec; a name
     * with the clock rate still attached ({@code "VP8/90000"}) is accepted too. Unknown or null names give
     * {@link #UNKNOWN}.
     */
    public static Codec fromName(String rtpmapName) {
        if (rtpmapName == null) {
            return UNKNOWN;
        }
        int slash = rtpmapName.indexOf('/');
        String name = (slash >= 0 ? rtpmapName.substring(0, slash) : rtpmapName).trim();
        if (name.equalsIgnoreCase("opus")) {
            return OPUS;
        } else if (name.equalsIgnoreCase("VP8")) {
            return VP8;
        } else if (name.equalsIgnoreCase("VP9")) {
            return VP9;
        } else if (name.equalsIgnoreCase("H264")) {
            return H264;
        } else if (name.equalsIgnoreCase("AV1") || name.equalsIgnoreCase("AV1X")) {
            return AV1;
        }
        return UNKNOWN;
    }

    public boolean isVideo() {
        return this == VP8 || this == VP9 || this == H264 || this == AV1;
    }
}
