package io.cascadesfu.signaling.http;

import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The plain HTTP endpoints the server module wires in.
 *
 * @param health  true while the node accepts participants ({@code /health} 200, else 503)
 * @param metrics Prometheus text for {@code /metrics}
 * @param token   {@code /token} in development mode (query parameters in, JSON body out), or null when off
 * @param nodes   JSON for {@code /nodes}: this node and the cluster's other nodes that clients may move to, or
 *                null outside a cluster
 */
public record HttpRoutes(BooleanSupplier health, Supplier<String> metrics,
                         Function<Map<String, List<String>>, TokenResponse> token, Supplier<String> nodes) {

    public HttpRoutes(BooleanSupplier health, Supplier<String> metrics,
                      Function<Map<String, List<String>>, TokenResponse> token) {
        this(health, metrics, token, null);
    }

    /** Status and JSON body of a {@code /token} answer. */
    public record TokenResponse(int status, String json) {
    }
}
