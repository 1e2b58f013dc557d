package io.cascadesfu.signaling.room;

import io.cascadesfu.core.media.SimpleConsumer;

/**
 * What a subscriber asks of one video it receives ({@code track_settings}, docs/PROTOCOL.md).
 *
 * @param enabled  false pauses the video: the node sends nothing of it (hidden, off screen)
 * @param maxLayer highest simulcast layer wanted, 0 lowest; {@link #ANY_LAYER} for any
 * @param height   the height in device pixels the video is shown at, 0 if not given: the node sends the smallest
 *                 layer that fills it
 */
public record TrackSettings(boolean enabled, int maxLayer, int height) {
    public static final int ANY_LAYER = SimpleConsumer.ANY_LAYER;
    public static final TrackSettings DEFAULT = new TrackSettings(true, ANY_LAYER, 0);

    /** The core's layer cap: -1 when paused. */
    int coreMaxLayer() {
        return enabled ? maxLayer : -1;
    }
}
