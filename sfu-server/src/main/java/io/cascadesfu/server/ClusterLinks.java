package io.cascadesfu.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.cascade.Cascade;
import io.cascadesfu.cascade.ClusterNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code GET /admin/links}: this node in its cluster, from what the control channel and the cascade expose now: the
 * configured peers and those up (with their region and round trip), and the tracks relayed to peers.
 *
 * <pre>
 * {"enabled": true, "nodeId": "us-east", "region": "virginia",
 *  "peers": [{"nodeId": "us-west", "address": "10.0.0.2:7890", "up": true, "region": "oregon", "rttMs": 61.5,
 *             "pathRttMs": 60.8}],
 *  "relayedTracks": 4,
 *  "detours": [{"room": "demo", "origin": "eu-central", "via": "us-west"}],
 *  "peerRttsMs": {"us-west": {"eu-central": 140.2, "us-east": 61.7}}}
 * </pre>
 *
 * Peers are those of {@code cluster.peers} (a node accepts no other), and any up that is not (then with
 * {@code "address": null}); {@code region} is known while a peer is up, {@code rttMs} once measured.
 * {@code detours} are the routes through another node than the participants' own (their node is cut off from
 * this one, or the path through the other is clearly shorter); {@code peerRttsMs} what each peer measures.
 */
final class ClusterLinks {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private ClusterLinks() {
    }

    /**
     * @param node    the control channel, null without a cluster (or before it started)
     * @param cascade the coordinator, null likewise
     */
    static JsonNode describe(SfuConfig.Cluster config, ClusterNode node, Cascade cascade) {
        ObjectNode body = JSON.objectNode();
        body.put("enabled", node != null);
        if (node == null) {
            body.putArray("peers");
            body.put("relayedTracks", 0);
            return body;
        }
        body.put("nodeId", config.nodeId);
        body.put("region", config.region);
        Map<String, String> addresses = new LinkedHashMap<>();
        for (String entry : config.peers) {
            String[] p = SfuConfig.parsePeer(entry);
            addresses.put(p[0], p[1] + ":" + p[2]);
        }
        Set<String> up = node.upPeers();
        Set<String> ids = new TreeSet<>(addresses.keySet());
        ids.addAll(up);
        ArrayNode peers = body.putArray("peers");
        for (String id : ids) {
            ObjectNode p = peers.addObject();
            p.put("nodeId", id);
            p.put("address", addresses.get(id));
            boolean isUp = up.contains(id);
            p.put("up", isUp);
            p.put("region", isUp ? node.region(id) : null);
            double rttMs = isUp ? node.rttMillis(id) : -1;
            if (rttMs >= 0) {
                p.put("rttMs", Math.round(rttMs * 10) / 10.0);
            } else {
                p.putNull("rttMs");
            }
            double pathMs = isUp ? node.pathRttMillis(id) : -1;
            if (pathMs >= 0) {
                p.put("pathRttMs", Math.round(pathMs * 10) / 10.0); // the least of recent pings: what routes use
            }
        }
        body.put("relayedTracks", cascade == null ? 0 : cascade.servedRelays());
        if (cascade != null) {
            body.setAll(cascade.describeRoutes()); // detours and the peers' own round trips: the node graph
        }
        return body;
    }
}
