package io.cascadesfu.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Grafana dashboard of the Docker stack ({@code docker/grafana/dashboards/sfu.json}) asks only for series a
 * real node exports. Two cascaded nodes run in this JVM (so the per-peer control channel gauges exist), a
 * stranger knocks on one's cluster port (so the refusal counter exists), and that node's {@code /metrics} is
 * scraped. Every metric name in every PromQL expression must be a sample name of the scrape: exact names, so a
 * summary's {@code _count}/{@code _sum} pass and a {@code _bucket} it does not have fails. Every label the
 * expressions and legends use must be on those samples or be one Prometheus adds from
 * {@code docker/prometheus/prometheus.yml} ({@code job}, {@code instance}, the targets' labels), and every
 * {@code label="value"} must match a sample.
 */
@Timeout(60)
class DashboardMetricsTest {
    static final Path DOCKER = Path.of("..", "docker");
    static final Path DASHBOARD = DOCKER.resolve("grafana/dashboards/sfu.json");
    static final Path PROMETHEUS = DOCKER.resolve("prometheus/prometheus.yml");
    static final Path DATASOURCE = DOCKER.resolve("grafana/provisioning/datasources/prometheus.yaml");
    static final String CLUSTER_SECRET = "dashboard-test-cluster-secret-0123456789";

    /** A metric the dashboard may name: the node's own and the JVM binders' prefixes. */
    static final Pattern SELECTOR = Pattern.compile(
            "(?<![A-Za-z0-9_:$])((?:sfu|jvm|process|system)_[A-Za-z0-9_:]*)(\\s*\\{([^}]*)})?");
    static final Pattern MATCHER = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");
    static final Pattern GROUPING = Pattern.compile("\\b(?:by|without)\\s*\\(([^)]*)\\)");
    static final Pattern LEGEND_LABEL = Pattern.compile("\\{\\{\\s*([A-Za-z_][A-Za-z0-9_]*)\\s*}}");
    static final Pattern SAMPLE_LABEL = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    static SfuNode nodeA;
    static SfuNode nodeB;
    static int clusterPortA;

    /** Sample name -> the label sets of its samples. */
    static Map<String, List<Map<String, String>>> samples;
    static JsonNode dashboard;

    @BeforeAll
    static void startClusterAndScrape() throws Exception {
        clusterPortA = freeTcpPort();
        int clusterPortB = freeTcpPort();
        // The node whose id sorts lower dials: a dials b; b needs a only as a configured peer.
        nodeB = new SfuNode(clusterConfig("dash-b", clusterPortB, "dash-a@127.0.0.1:" + clusterPortA));
        nodeA = new SfuNode(clusterConfig("dash-a", clusterPortA, "dash-b@127.0.0.1:" + clusterPortB));

        long deadline = System.nanoTime() + 20_000_000_000L;
        String text = scrape(nodeA);
        while (!text.contains("sfu_cascade_peer_rtt_ms{peer=\"dash-b\"}") && System.nanoTime() < deadline) {
            Thread.sleep(100);
            text = scrape(nodeA);
        }
        assertTrue(text.contains("sfu_cascade_peer_rtt_ms{peer=\"dash-b\"}"), "node a never saw node b up:\n" + text);

        knockWithUnknownNodeId(clusterPortA);
        while (!text.contains("sfu_cascade_auth_failures_total{") && System.nanoTime() < deadline) {
            Thread.sleep(100);
            text = scrape(nodeA);
        }
        assertTrue(text.contains("sfu_cascade_auth_failures_total{reason=\"unknown_node\"}"),
                "the stranger's hello was not counted:\n" + text);

        samples = parseScrape(text);
        assertTrue(Files.isRegularFile(DASHBOARD), DASHBOARD.toAbsolutePath() + " is missing");
        dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    }

    @AfterAll
    static void stopNodes() {
        if (nodeA != null) {
            nodeA.close();
        }
        if (nodeB != null) {
            nodeB.close();
        }
    }

    static SfuConfig clusterConfig(String nodeId, int clusterPort, String peer) {
        SfuConfig c = SignalingProtocolTest.devConfig();
        c.media.workers = 1;
        c.cluster.nodeId = nodeId;
        c.cluster.region = "test";
        c.cluster.secret = CLUSTER_SECRET;
        c.cluster.port = clusterPort;
        c.cluster.peers = List.of(peer);
        c.validate();
        return c;
    }

    static int freeTcpPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static String scrape(SfuNode node) throws Exception {
        HttpResponse<String> r = HttpEndpointsTest.HTTP.send(
                HttpRequest.newBuilder(HttpEndpointsTest.uri(node.httpAddress(), "/metrics"))
                        .timeout(WsClient.TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    /** A well-formed hello (4-byte length, JSON) from a node id that is not a configured peer; refused. */
    static void knockWithUnknownNodeId(int port) throws IOException {
        byte[] hello = "{\"type\":\"hello\",\"nodeId\":\"stranger\",\"region\":\"x\",\"nonce\":\"0123456789abcdef0123\"}"
                .getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), (int) WsClient.TIMEOUT.toMillis());
            s.setSoTimeout((int) WsClient.TIMEOUT.toMillis());
            OutputStream out = s.getOutputStream();
            out.write(ByteBuffer.allocate(4).putInt(hello.length).array());
            out.write(hello);
            out.flush();
            InputStream in = s.getInputStream();
            try {
                assertEquals(-1, in.read(), "the node closes the connection without an answer");
            } catch (java.net.SocketException reset) {
                // closed with a reset: refused all the same
            }
        }
    }

    /** Prometheus text format: sample lines only (HELP and TYPE name families, not series). */
    static Map<String, List<Map<String, String>>> parseScrape(String text) {
        Map<String, List<Map<String, String>>> out = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.indexOf(' ');
            int end = brace >= 0 && brace < space ? brace : space;
            String name = line.substring(0, end);
            Map<String, String> labels = new HashMap<>();
            if (end == brace) {
                Matcher m = SAMPLE_LABEL.matcher(line.substring(brace, line.lastIndexOf('}') + 1));
                while (m.find()) {
                    labels.put(m.group(1), m.group(2));
                }
            }
            out.computeIfAbsent(name, k -> new ArrayList<>()).add(labels);
        }
        return out;
    }

    /** Labels Prometheus puts on every series of the compose stack's scrape job. */
    static Set<String> targetLabels() throws IOException {
        JsonNode config = new ObjectMapper(new YAMLFactory()).readTree(PROMETHEUS.toFile());
        Set<String> labels = new HashSet<>(Set.of("job", "instance"));
        for (JsonNode job : config.path("scrape_configs")) {
            for (JsonNode sc : job.path("static_configs")) {
                sc.path("labels").fieldNames().forEachRemaining(labels::add);
            }
        }
        return labels;
    }

    /** One PromQL expression of the dashboard and where it is. */
    record Query(String where, String expr, String legend) {
    }

    static List<Query> queries() {
        List<Query> out = new ArrayList<>();
        collectPanels(dashboard.path("panels"), out);
        for (JsonNode v : dashboard.path("templating").path("list")) {
            JsonNode q = v.path("query");
            String expr = q.isObject() ? q.path("query").asText("") : q.asText("");
            if (!expr.isEmpty()) {
                out.add(new Query("variable $" + v.path("name").asText(), expr, ""));
            }
        }
        return out;
    }

    static void collectPanels(JsonNode panels, List<Query> out) {
        for (JsonNode p : panels) {
            for (JsonNode t : p.path("targets")) {
                String expr = t.path("expr").asText("");
                if (!expr.isEmpty()) {
                    out.add(new Query("panel \"" + p.path("title").asText() + "\" " + t.path("refId").asText(), expr,
                            t.path("legendFormat").asText("")));
                }
            }
            collectPanels(p.path("panels"), out);
        }
    }

    /** Labels any sample of these metrics carries. */
    static Set<String> labelsOf(Set<String> metrics) {
        Set<String> labels = new HashSet<>();
        for (String name : metrics) {
            for (Map<String, String> s : samples.getOrDefault(name, List.of())) {
                labels.addAll(s.keySet());
            }
        }
        return labels;
    }

    @Test
    void dashboardHasAPanelForEveryArea() {
        List<Query> queries = queries();
        assertTrue(queries.size() >= 30, "only " + queries.size() + " queries found in " + DASHBOARD);
        String all = String.join("\n", queries.stream().map(Query::expr).toList());
        for (String metric : List.of("sfu_participants", "sfu_rooms", "sfu_packets_in_total", "sfu_packets_out_total",
                "sfu_packets_dropped_total", "sfu_forward_latency_seconds", "sfu_cascade_peer_rtt_ms",
                "sfu_cascade_relays", "sfu_cascade_peers_up", "sfu_dtls_handshakes_total", "sfu_worker_busy",
                "jvm_memory_used_bytes")) {
            assertTrue(SELECTOR.matcher(all).results().anyMatch(m -> m.group(1).equals(metric)),
                    "no panel shows " + metric);
        }
    }

    @Test
    void everyPanelHasAQueryOnTheProvisionedDatasource() throws IOException {
        JsonNode provisioned = new ObjectMapper(new YAMLFactory()).readTree(DATASOURCE.toFile());
        String uid = provisioned.path("datasources").path(0).path("uid").asText();
        assertFalse(uid.isEmpty(), "the provisioned datasource has a uid");
        List<String> problems = new ArrayList<>();
        checkPanels(dashboard.path("panels"), uid, problems);
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    static void checkPanels(JsonNode panels, String uid, List<String> problems) {
        for (JsonNode p : panels) {
            String title = p.path("title").asText();
            if (p.path("type").asText().equals("row")) {
                checkPanels(p.path("panels"), uid, problems);
                continue;
            }
            if (!p.path("datasource").path("uid").asText().equals(uid)) {
                problems.add("panel \"" + title + "\": datasource is not " + uid);
            }
            if (p.path("targets").isEmpty()) {
                problems.add("panel \"" + title + "\": no query");
            }
            for (JsonNode t : p.path("targets")) {
                if (t.path("expr").asText("").isBlank()) {
                    problems.add("panel \"" + title + "\" " + t.path("refId").asText() + ": empty expr");
                }
                if (!t.path("datasource").path("uid").asText(uid).equals(uid)) {
                    problems.add("panel \"" + title + "\" " + t.path("refId").asText() + ": datasource is not " + uid);
                }
            }
        }
    }

    @Test
    void everyMetricTheDashboardQueriesIsExportedByANode() throws IOException {
        Set<String> targetLabels = targetLabels();
        Set<String> problems = new LinkedHashSet<>();
        Set<String> seen = new TreeSet<>();
        for (Query q : queries()) {
            Set<String> metrics = new LinkedHashSet<>();
            Matcher sel = SELECTOR.matcher(q.expr());
            while (sel.find()) {
                String name = sel.group(1);
                metrics.add(name);
                seen.add(name);
                if (!samples.containsKey(name)) {
                    problems.add(q.where() + ": " + name + " is not in a node's /metrics" + suffixHint(name));
                    continue;
                }
                if (sel.group(3) != null) {
                    checkMatchers(q, name, sel.group(3), targetLabels, problems);
                }
            }
            if (metrics.isEmpty()) {
                problems.add(q.where() + ": no sfu_/jvm_/process_/system_ metric in " + q.expr());
            }
            Set<String> known = labelsOf(metrics);
            known.addAll(targetLabels);
            known.add("le");
            Matcher by = GROUPING.matcher(q.expr());
            while (by.find()) {
                for (String label : by.group(1).split(",")) {
                    if (!label.isBlank() && !known.contains(label.trim())) {
                        problems.add(q.where() + ": groups by \"" + label.trim() + "\", a label none of " + metrics
                                + " has");
                    }
                }
            }
            Matcher legend = LEGEND_LABEL.matcher(q.legend());
            while (legend.find()) {
                if (!known.contains(legend.group(1))) {
                    problems.add(q.where() + ": legend uses {{" + legend.group(1) + "}}, a label none of " + metrics
                            + " has");
                }
            }
        }
        if (!problems.isEmpty()) {
            fail("the dashboard asks for series no node exports:\n  " + String.join("\n  ", problems)
                    + "\nsample names scraped: " + new TreeSet<>(samples.keySet()));
        }
        assertFalse(seen.isEmpty());
    }

    static void checkMatchers(Query q, String name, String body, Set<String> targetLabels, Set<String> problems) {
        List<Map<String, String>> series = samples.get(name);
        Matcher m = MATCHER.matcher(body);
        while (m.find()) {
            String label = m.group(1);
            String op = m.group(2);
            String value = m.group(3);
            if (targetLabels.contains(label)) {
                continue; // set by Prometheus from the scrape config; its values are the compose stack's
            }
            if (series.stream().noneMatch(s -> s.containsKey(label))) {
                problems.add(q.where() + ": " + name + " has no label \"" + label + "\"");
            } else if (op.equals("=") && series.stream().noneMatch(s -> value.equals(s.get(label)))) {
                problems.add(q.where() + ": no series " + name + "{" + label + "=\"" + value + "\"}; values: "
                        + series.stream().map(s -> s.get(label)).distinct().toList());
            }
        }
    }

    /** Micrometer's Timer is a summary here (client-side percentiles): no _bucket series. */
    static String suffixHint(String name) {
        for (String suffix : List.of("_bucket", "_count", "_sum")) {
            if (name.endsWith(suffix)) {
                String base = name.substring(0, name.length() - suffix.length());
                if (samples.containsKey(base) || samples.containsKey(base + "_count")) {
                    return " (" + base + " exists, without " + suffix + ")";
                }
            }
        }
        return "";
    }

    @Test
    void checkerRejectsAMetricNoNodeExports() {
        // The checks above are only as good as the parsing: a made-up name and label must be caught.
        Matcher sel = SELECTOR.matcher("sum by (node) (rate(sfu_made_up_total{kind=\"rtp\"}[1m])) "
                + "/ sfu_forward_latency_seconds_bucket{le=\"0.1\"}");
        List<String> found = new ArrayList<>();
        while (sel.find()) {
            found.add(sel.group(1));
        }
        assertEquals(List.of("sfu_made_up_total", "sfu_forward_latency_seconds_bucket"), found);
        assertFalse(samples.containsKey("sfu_made_up_total"));
        assertFalse(samples.containsKey("sfu_forward_latency_seconds_bucket"), "the latency Timer is a summary");
        assertTrue(samples.containsKey("sfu_forward_latency_seconds_count"));

        Set<String> problems = new LinkedHashSet<>();
        checkMatchers(new Query("test", "", ""), "sfu_packets_in_total", "kind=\"quic\", node=~\"$node\"",
                Set.of("node"), problems);
        checkMatchers(new Query("test", "", ""), "sfu_packets_in_total", "reason=\"x\"", Set.of("node"), problems);
        assertEquals(2, problems.size(), problems.toString());
    }
}
