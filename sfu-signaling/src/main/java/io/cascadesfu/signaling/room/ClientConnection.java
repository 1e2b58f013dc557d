package io.cascadesfu.signaling.room;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** The signaling socket of one participant, as the room logic sees it. Thread-safe. */
public interface ClientConnection {
    void send(ObjectNode message);

    /** Sends an {@code error} and closes the socket. */
    void closeWithError(String code, String message);

    String remoteAddress();
}
