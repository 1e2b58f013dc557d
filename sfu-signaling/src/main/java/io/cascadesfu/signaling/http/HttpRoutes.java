package io.cascadesfu.signaling.http;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The plain HTTP endpoints the server module wires in.
 *
 * @param health  true while the node accepts participants ({@code /health} 200, else 503)
 * @param metrics Prometheus text for {@code /metrics}
 * @param token   {@code /token} in development mode (query parameters in, JSON body out), or null when off
 * @param nodes   the answer to {@code /nodes} (its query parameters in): this node and the cluster's other nodes
 *                that clients may move to, or null outside a cluster. Called on the HTTP I/O thread, so it must not
 *                block; the answer is sent when the stage completes, as for the admin API.
 * @param admin   everything under {@code /admin}, or null when the admin API is off (those paths are 404)
 */
public record HttpRoutes(BooleanSupplier health, Supplier<String> metrics,
                         Function<Map<String, List<String>>, TokenResponse> token,
                         Function<Map<String, List<String>>, CompletionStage<AdminResponse>> nodes, Admin admin) {

    /** Outside a cluster, without the admin API. */
    public HttpRoutes(BooleanSupplier health, Supplier<String> metrics,
                      Function<Map<String, List<String>>, TokenResponse> token) {
        this(health, metrics, token, null, null);
    }

    /** Status and JSON body of a {@code /token} answer. */
    public record TokenResponse(int status, String json) {
    }

    /**
     * The admin API: every request whose path is {@code /admin} or below it, whatever its method. Called on the
     * HTTP I/O thread, so it must not block: work is handed elsewhere and the answer comes when the stage
     * completes, on any thread. Requests behind it on the same connection wait for it (HTTP/1.1 order).
     */
    public interface Admin {
        CompletionStage<AdminResponse> handle(AdminRequest request);
    }

    /**
     * One admin request.
     *
     * @param method        the HTTP method, upper case
     * @param rawPath       the path as sent, percent-encoded segments not decoded (so {@code %2F} stays in its segment)
     * @param authorization the {@code Authorization} header, or null
     * @param body          the request body (the HTTP server caps it at 64 KiB), empty if none
     * @param remoteAddress who asked, for the log
     */
    public record AdminRequest(String method, String rawPath, String authorization, byte[] body,
                               String remoteAddress) {
    }

    /**
     * One admin (or {@code /nodes}) answer: a JSON body and extra headers (e.g. {@code Allow}, {@code WWW-Authenticate}).
     */
    public record AdminResponse(int status, String json, Map<String, String> headers) {
        public AdminResponse {
            headers = Map.copyOf(headers);
        }

        public AdminResponse(int status, String json) {
            this(status, json, Map.of());
        }
    }
}
