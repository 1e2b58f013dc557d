package io.cascadesfu.core.room;

/** What an {@link Endpoint} tells its owner (the signaling session). Control thread. */
public interface EndpointListener {
    void onEndpointConnected(Endpoint endpoint);

    /** The transport ended by itself (consent lost, DTLS failure or close). Not called after {@link Endpoint#close}. */
    void onEndpointClosed(Endpoint endpoint, String reason);
}
