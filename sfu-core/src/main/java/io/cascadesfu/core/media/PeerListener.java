package io.cascadesfu.core.media;

/** What a {@link MediaPeer} tells its owner (the signaling session). Called on the media loop. */
public interface PeerListener {
    void onPeerConnected(MediaPeer peer);

    void onPeerClosed(MediaPeer peer, String reason);
}
