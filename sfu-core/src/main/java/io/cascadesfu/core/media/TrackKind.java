package io.cascadesfu.core.media;

/** The kind of a published track. */
public enum TrackKind {
    AUDIO, VIDEO;

    public static TrackKind of(String sdpMediaType) {
        return "video".equalsIgnoreCase(sdpMediaType) ? VIDEO : AUDIO;
    }

    public String sdpName() {
        return this == VIDEO ? "video" : "audio";
    }
}
