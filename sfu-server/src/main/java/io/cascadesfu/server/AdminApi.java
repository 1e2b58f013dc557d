package io.cascadesfu.server;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.core.room.Room;
import io.cascadesfu.signaling.auth.TokenService;
import io.cascadesfu.signaling.http.HttpRoutes;
import io.cascadesfu.signaling.http.HttpRoutes.AdminRequest;
import io.cascadesfu.signaling.http.HttpRoutes.AdminResponse;
import io.cascadesfu.signaling.room.RoomAdmin;
import io.cascadesfu.signaling.room.RoomManager;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API (docs/ADMIN.md): JSON over HTTP under {@code /admin}, for operators holding the admin key.
 *
 * <pre>
 *   GET    /admin/rooms                                   rooms of this node
 *   GET    /admin/rooms/{room}                            its participants and tracks
 *   DELETE /admin/rooms/{room}                            closes it here (everyone here told room_closed)
 *   DELETE /admin/rooms/{room}/participants/{id}          removes a participant of this node (told removed)
 *   POST   /admin/rooms/{room}/tracks/{trackId}/mute      {"muted": true|false}
 *   GET    /admin/links                                   the cascade: peers and relays
 *   POST   /admin/drain                                   stop accepting joins (202)
 * </pre>
 *
 * <p>Every request needs {@code Authorization: Bearer <admin.key>} (401 otherwise, counted in
 * {@code sfu_admin_auth_failures_total}), even to a path that does not exist. Answers are JSON; errors are
 * {@code {"error": code, "message": text}}.
 *
 * <p>Threading: {@link #handle} runs on an HTTP I/O thread and does only the request's own checks there; room
 * work is handed to the engine's control thread (which owns the rooms), and the answer completes from there.
 * Nothing blocks the I/O thread; an answer the node cannot give within {@link #ANSWER_TIMEOUT_MS} is a 503.
 */
final class AdminApi implements HttpRoutes.Admin {
    private static final Logger log = LoggerFactory.getLogger(AdminApi.class);
    /** A request body larger than this is refused (the only body, {@code mute}'s, is a few bytes). */
    static final int MAX_BODY_BYTES = 4096;
    static final long ANSWER_TIMEOUT_MS = 5000;
    private static final String WWW_AUTHENTICATE = "Bearer realm=\"cascade-sfu admin\"";

    /**
     * The cascade as the admin API shows it ({@code GET /admin/links}). Called on the engine's control thread.
     */
    interface ClusterView {
        ClusterView NONE = () -> CompletableFuture.completedFuture(
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("enabled", false));

        /** Completes on the control thread (the relay links' counters are read on their workers first). */
        CompletionStage<JsonNode> describe();
    }

    private final byte[] keyDigest;
    private final RoomManager rooms;
    private final RoomAdmin roomAdmin;
    private final Executor control;
    private final ClusterView cluster;
    private final Runnable drain;
    private final ObjectMapper json;
    private final Counter missingKey;
    private final Counter wrongKey;

    /**
     * @param key     the admin key (validated by {@link SfuConfig})
     * @param control the engine's control thread, owner of {@code rooms}
     * @param drain   what {@code POST /admin/drain} does; idempotent, called on a pool thread (not an I/O thread)
     */
    AdminApi(String key, RoomManager rooms, Executor control, ClusterView cluster, Runnable drain,
             MeterRegistry registry, ObjectMapper json) {
        this.keyDigest = sha256(key);
        this.rooms = rooms;
        this.roomAdmin = new RoomAdmin(rooms);
        this.control = control;
        this.cluster = cluster;
        this.drain = drain;
        this.json = json;
        this.missingKey = authFailures(registry, "missing");
        this.wrongKey = authFailures(registry, "wrong");
    }

    private static Counter authFailures(MeterRegistry registry, String reason) {
        return Counter.builder("sfu.admin.auth.failures").tag("reason", reason)
                .description("Admin API requests refused for a missing or wrong admin key").register(registry);
    }

    // ------------------------------------------------------------------------------------------ routing

    @Override
    public CompletionStage<AdminResponse> handle(AdminRequest request) {
        Counter failure = checkKey(request.authorization());
        if (failure != null) {
            failure.increment();
            return done(new AdminResponse(401, error("unauthorized", "send Authorization: Bearer <admin key>"),
                    Map.of("WWW-Authenticate", WWW_AUTHENTICATE)));
        }
        List<String> path;
        try {
            path = segments(request.rawPath());
        } catch (IllegalArgumentException e) {
            return done(new AdminResponse(400, error("bad_request", "the path is not validly percent-encoded")));
        }
        if (request.body().length > MAX_BODY_BYTES) {
            return done(new AdminResponse(413, error("body_too_large",
                    "admin request bodies are limited to " + MAX_BODY_BYTES + " bytes")));
        }
        if (path.isEmpty() || path.contains("")) {
            return notFound(); // /admin, /admin/, /admin//rooms, /admin/rooms/
        }
        String method = request.method();
        int n = path.size();
        if (n == 1 && path.get(0).equals("rooms")) {
            return allow(method, "GET") ? onControl(this::listRooms) : notAllowed("GET");
        }
        if (n == 1 && path.get(0).equals("links")) {
            return allow(method, "GET") ? onControlAsync(this::links) : notAllowed("GET");
        }
        if (n == 1 && path.get(0).equals("drain")) {
            return allow(method, "POST") ? drain(request) : notAllowed("POST");
        }
        if (n >= 2 && path.get(0).equals("rooms")) {
            String room = path.get(1);
            if (n == 2) {
                if (!allow(method, "GET") && !allow(method, "DELETE")) {
                    return notAllowed("GET, DELETE");
                }
            } else if (n == 4 && path.get(2).equals("participants")) {
                if (!allow(method, "DELETE")) {
                    return notAllowed("DELETE");
                }
            } else if (n == 5 && path.get(2).equals("tracks") && path.get(4).equals("mute")) {
                if (!allow(method, "POST")) {
                    return notAllowed("POST");
                }
            } else {
                return notFound();
            }
            if (!TokenService.isValidRoomName(room)) {
                return done(new AdminResponse(400, error("bad_request",
                        "a room name is 1..64 of [A-Za-z0-9_.-]")));
            }
            if (n == 2) {
                return method.equals("GET") ? roomDetail(room) : onControl(() -> closeRoom(room, request));
            }
            if (n == 4) {
                String participantId = path.get(3);
                return onControl(() -> removeParticipant(room, participantId, request));
            }
            Boolean muted;
            try {
                muted = mutedField(request.body());
            } catch (IOException e) {
                return done(new AdminResponse(400, error("bad_json", "the body is not valid JSON")));
            }
            if (muted == null) {
                return done(new AdminResponse(400, error("bad_request", "the body must be {\"muted\": true|false}")));
            }
            String trackId = path.get(3);
            return onControl(() -> muteTrack(room, trackId, muted, request));
        }
        return notFound();
    }

    /** The path's segments after {@code /admin}, each percent-decoded ({@code +} is a plus, not a space). */
    static List<String> segments(String rawPath) {
        String[] parts = rawPath.split("/", -1); // "", "admin", ...
        List<String> list = new ArrayList<>();
        for (int i = 2; i < parts.length; i++) {
            list.add(URLDecoder.decode(parts[i].replace("+", "%2B"), StandardCharsets.UTF_8));
        }
        return list;
    }

    private static boolean allow(String method, String allowed) {
        return method.equals(allowed);
    }

    /** The key's check, in time that does not depend on how much of it matched. Null: the key is right. */
    private Counter checkKey(String authorization) {
        if (authorization == null || authorization.isBlank()) {
            return missingKey;
        }
        String value = authorization.strip();
        int space = value.indexOf(' ');
        if (space < 0 || !value.substring(0, space).equalsIgnoreCase("Bearer")) {
            return wrongKey;
        }
        // Digests of equal length: MessageDigest.isEqual takes the same time whatever the presented key's length.
        byte[] presented = sha256(value.substring(space + 1).strip());
        return MessageDigest.isEqual(presented, keyDigest) ? null : wrongKey;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** {@code muted} of a body {@code {"muted": bool}}; null if the JSON is of another shape. */
    private Boolean mutedField(byte[] body) throws IOException {
        if (body.length == 0) {
            return null;
        }
        JsonNode node = json.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(body);
        if (node == null || !node.isObject() || !node.path("muted").isBoolean()) {
            return null;
        }
        return node.get("muted").asBoolean();
    }

    // ------------------------------------------------------------------------------------------ actions (control thread)

    private AdminResponse listRooms() {
        ObjectNode body = json.createObjectNode();
        body.put("draining", rooms.isDraining());
        ArrayNode list = body.putArray("rooms");
        List<RoomAdmin.RoomSummary> all = new ArrayList<>(roomAdmin.rooms());
        all.sort(Comparator.comparing(RoomAdmin.RoomSummary::room));
        for (RoomAdmin.RoomSummary r : all) {
            list.addObject()
                    .put("room", r.room())
                    .put("participants", r.localParticipants() + r.remoteParticipants())
                    .put("localParticipants", r.localParticipants())
                    .put("remoteParticipants", r.remoteParticipants())
                    .put("tracks", r.tracks());
        }
        return ok(body);
    }

    /** The room's participants (control thread), then what each worker's router holds for it (read on each worker). */
    private CompletionStage<AdminResponse> roomDetail(String room) {
        return onControlAsync(() -> {
            RoomAdmin.RoomInfo info = roomAdmin.room(room);
            Room core = rooms.coreRoom(room);
            if (info == null || core == null) {
                return done(noRoom(room));
            }
            return core.inspect()
                    .handleAsync((routers, error) -> describe(info, error == null ? routers : null), control);
        });
    }

    private AdminResponse describe(RoomAdmin.RoomInfo info, List<Room.RouterCounts> routers) {
        ObjectNode body = json.createObjectNode();
        body.put("room", info.room());
        ArrayNode participants = body.putArray("participants");
        for (RoomAdmin.ParticipantInfo p : info.participants()) {
            ObjectNode n = participants.addObject();
            n.put("participantId", p.participantId());
            n.put("identity", p.identity());
            n.put("name", p.name());
            n.put("local", p.node() == null);
            if (p.node() != null) {
                n.put("node", p.node());
            } else {
                n.put("joinedAt", p.joinedAt().toString());
                n.put("subscriptions", p.subscriptions());
            }
            ArrayNode tracks = n.putArray("tracks");
            for (RoomAdmin.TrackInfo t : p.tracks()) {
                ObjectNode tn = tracks.addObject();
                tn.put("trackId", t.trackId());
                tn.put("kind", t.kind());
                tn.put("mid", t.mid());
                tn.put("codec", t.codec());
                tn.put("muted", t.muted());
                ArrayNode layers = tn.putArray("layers");
                t.layers().forEach(layers::add);
                tn.put("subscribers", t.subscribers());
            }
        }
        if (routers != null) {
            ArrayNode list = body.putArray("routers");
            for (Room.RouterCounts r : routers) {
                list.addObject().put("worker", r.worker()).put("peers", r.peers()).put("producers", r.producers())
                        .put("consumers", r.consumers());
            }
        }
        return ok(body);
    }

    private AdminResponse closeRoom(String room, AdminRequest request) {
        int left = roomAdmin.closeRoom(room);
        if (left < 0) {
            return noRoom(room);
        }
        log.info("admin: room {} closed ({} participants) by {}", room, left, request.remoteAddress());
        return ok(json.createObjectNode().put("room", room).put("closed", true).put("participants", left));
    }

    private AdminResponse removeParticipant(String room, String participantId, AdminRequest request) {
        RoomAdmin.Result r = roomAdmin.removeParticipant(room, participantId);
        return switch (r.outcome()) {
            case NO_ROOM -> noRoom(room);
            case NOT_LOCAL -> notLocal("participant " + participantId, r.node());
            case DONE -> {
                log.info("admin: participant {} removed from room {} by {}", participantId, room,
                        request.remoteAddress());
                yield ok(json.createObjectNode().put("room", room).put("participantId", participantId)
                        .put("removed", true));
            }
            default -> new AdminResponse(404, error("not_found", "room " + room + " has no participant "
                    + printable(participantId)));
        };
    }

    private AdminResponse muteTrack(String room, String trackId, boolean muted, AdminRequest request) {
        RoomAdmin.Result r = roomAdmin.muteTrack(room, trackId, muted);
        return switch (r.outcome()) {
            case NO_ROOM -> noRoom(room);
            case NOT_LOCAL -> notLocal("track " + trackId, r.node());
            case DONE, UNCHANGED -> {
                if (r.outcome() == RoomAdmin.Outcome.DONE) {
                    log.info("admin: track {} of {} in room {} {} by {}", trackId, r.participantId(), room,
                            muted ? "muted" : "unmuted", request.remoteAddress());
                }
                yield ok(json.createObjectNode().put("room", room).put("participantId", r.participantId())
                        .put("trackId", trackId).put("muted", muted)
                        .put("changed", r.outcome() == RoomAdmin.Outcome.DONE));
            }
            default -> new AdminResponse(404, error("not_found", "room " + room + " has no track "
                    + printable(trackId)));
        };
    }

    private CompletionStage<AdminResponse> links() {
        return cluster.describe().thenApply(this::ok);
    }

    /** Runs {@code drain} off the I/O thread (it may wait for the control thread), then answers 202. */
    private CompletionStage<AdminResponse> drain(AdminRequest request) {
        boolean already = rooms.isDraining();
        return CompletableFuture.runAsync(drain)
                .thenApply(v -> {
                    if (!already) {
                        log.info("admin: drain requested by {}", request.remoteAddress());
                    }
                    return new AdminResponse(202, json.createObjectNode().put("draining", true).toString());
                })
                .completeOnTimeout(unavailable(), ANSWER_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    // ------------------------------------------------------------------------------------------ answers

    /** Runs {@code task} on the control thread; bounded by {@link #ANSWER_TIMEOUT_MS}. */
    private CompletableFuture<AdminResponse> onControl(Supplier<AdminResponse> task) {
        return onControlAsync(() -> done(task.get()));
    }

    private CompletableFuture<AdminResponse> onControlAsync(Supplier<CompletionStage<AdminResponse>> task) {
        CompletableFuture<AdminResponse> answer = new CompletableFuture<>();
        try {
            control.execute(() -> {
                try {
                    task.get().whenComplete((r, error) -> {
                        if (error != null) {
                            log.error("admin request failed", error);
                            answer.complete(internal());
                        } else {
                            answer.complete(r);
                        }
                    });
                } catch (RuntimeException e) {
                    log.error("admin request failed", e);
                    answer.complete(internal());
                }
            });
        } catch (RejectedExecutionException e) {
            answer.complete(unavailable());
        }
        return answer.completeOnTimeout(unavailable(), ANSWER_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    private static CompletableFuture<AdminResponse> done(AdminResponse r) {
        return CompletableFuture.completedFuture(r);
    }

    private AdminResponse ok(JsonNode body) {
        return new AdminResponse(200, body.toString());
    }

    private CompletableFuture<AdminResponse> notFound() {
        return done(new AdminResponse(404, error("not_found", "no such admin endpoint (docs/ADMIN.md)")));
    }

    private CompletableFuture<AdminResponse> notAllowed(String allowed) {
        return done(new AdminResponse(405, error("method_not_allowed", "use " + allowed), Map.of("Allow", allowed)));
    }

    private AdminResponse noRoom(String room) {
        return new AdminResponse(404, error("not_found", "no room " + room + " on this node"));
    }

    private AdminResponse notLocal(String what, String node) {
        return new AdminResponse(409, error("not_local", printable(what) + " is on node " + node
                + "; ask that node's admin API"));
    }

    private AdminResponse unavailable() {
        return new AdminResponse(503, error("unavailable", "the node did not answer in time (stopping or overloaded)"));
    }

    private AdminResponse internal() {
        return new AdminResponse(500, error("internal", "the request failed; the node logged why"));
    }

    private String error(String code, String message) {
        return json.createObjectNode().put("error", code).put("message", message).toString();
    }

    /** An id from the path as it may appear in a message: at most 64 printable ASCII characters. */
    private static String printable(String s) {
        String cut = s.length() > 64 ? s.substring(0, 64) + "..." : s;
        char[] chars = cut.toCharArray();
        for (int i = 0; i < chars.length; i++) {
            if (chars[i] < 0x20 || chars[i] > 0x7e) {
                chars[i] = '?';
            }
        }
        return new String(chars);
    }
}
