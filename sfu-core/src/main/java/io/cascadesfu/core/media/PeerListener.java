package io.cascadesfu.core.media;

/** What a {@link MediaPeer} tells its owner (the room's endpoint). Called on the peer's worker loop. */
public interface PeerListener {
    void onPeerConnected(MediaPeer peer);

    void onPeerClosed(MediaPeer peer, String reason);
}
