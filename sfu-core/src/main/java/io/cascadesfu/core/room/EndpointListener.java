package io.cascadesfu.core.room;

/** What an {@link Endpoint} tells its owner (the signaling session). Control thread. */
public interface EndpointListener {
    /** Tells nobody (the node's own warm-up, tests). */
    EndpointListener NONE = new EndpointListener() {
        @Override
        public void onEndpointConnected(Endpoint endpoint) {
        }

        @Override
        public void onEndpointClosed(Endpoint endpoint, String reason) {
        }
    };

    void onEndpointConnected(Endpoint endpoint);

    /** The transport ended by itself (consent lost, DTLS failure or close). Not called after {@link Endpoint#close}. */
    void onEndpointClosed(Endpoint endpoint, String reason);
}
