package io.cascadesfu.server;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A signaling test client: a real JDK WebSocket to a node's {@code /ws}, JSON text frames in and out.
 * Every wait is bounded by {@link #TIMEOUT} (or a shorter given duration).
 *
 * <p>Threading: the JDK delivers frames on its own thread into a queue; the test thread reads the queue.
 */
final class WsClient implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(5);
    static final ObjectMapper JSON = new ObjectMapper();

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

    private final LinkedBlockingQueue<JsonNode> inbox = new LinkedBlockingQueue<>();
    /** Messages {@link #next(String)} passed over while looking for another type. */
    final List<JsonNode> skipped = new ArrayList<>();
    private final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final WebSocket socket;

    private WsClient(URI uri) throws Exception {
        this.socket = HTTP.newWebSocketBuilder()
                .connectTimeout(TIMEOUT)
                .buildAsync(uri, new Listener())
                .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    static WsClient connect(InetSocketAddress http) throws Exception {
        return new WsClient(URI.create("ws://" + http.getHostString() + ":" + http.getPort() + "/ws"));
    }

    /** Connects and joins with {@code token}; returns once {@code joined} arrived. */
    static WsClient joined(InetSocketAddress http, String token) throws Exception {
        WsClient c = connect(http);
        c.send("type", "join", "token", token, "protocol", 1);
        c.next("joined");
        return c;
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder text = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                String frame = text.toString();
                text.setLength(0);
                try {
                    inbox.add(JSON.readTree(frame));
                } catch (JsonProcessingException e) {
                    inbox.add(JSON.createObjectNode().put("type", "<client: unparseable frame>").put("raw", frame));
                }
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            inbox.add(JSON.createObjectNode().put("type", "<client: binary frame>"));
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            closed.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            // The node closes TCP right after its Close frame; the JDK may report that as an error.
            closed.complete(-1);
        }
    }

    /** Sends a text frame as is. */
    void sendRaw(String text) throws Exception {
        socket.sendText(text, true).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Sends a message the node is expected to refuse part way: the JDK sends long messages as several frames and
     * the node may close the socket after the first, which fails the send. Not an error here.
     */
    void sendRefused(String text) throws Exception {
        try {
            socket.sendText(text, true).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            // output closed by the node
        }
    }

    void send(ObjectNode message) throws Exception {
        sendRaw(JSON.writeValueAsString(message));
    }

    /** Sends an object made of alternating field names and values. */
    void send(Object... fieldsAndValues) throws Exception {
        send(object(fieldsAndValues));
    }

    static ObjectNode object(Object... fieldsAndValues) {
        ObjectNode n = JSON.createObjectNode();
        for (int i = 0; i < fieldsAndValues.length; i += 2) {
            n.set((String) fieldsAndValues[i], JSON.valueToTree(fieldsAndValues[i + 1]));
        }
        return n;
    }

    /** The next message of any type. */
    JsonNode next() throws InterruptedException {
        JsonNode n = inbox.poll(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (n == null) {
            fail("no message within " + TIMEOUT + " (skipped so far: " + skipped + ")");
        }
        return n;
    }

    /** The next message of {@code type}; messages of other types are passed over into {@link #skipped}. */
    JsonNode next(String type) throws InterruptedException {
        long deadlineNs = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            long leftNs = deadlineNs - System.nanoTime();
            JsonNode n = leftNs <= 0 ? null : inbox.poll(leftNs, TimeUnit.NANOSECONDS);
            if (n == null) {
                fail("no \"" + type + "\" within " + TIMEOUT + "; passed over: " + skipped);
            }
            if (type.equals(n.path("type").asText())) {
                return n;
            }
            skipped.add(n);
        }
    }

    /** The next {@code error}, which must carry {@code code}. */
    JsonNode nextError(String code) throws InterruptedException {
        JsonNode e = next("error");
        if (!code.equals(e.path("code").asText())) {
            fail("expected error " + code + " but got " + e);
        }
        return e;
    }

    /** Fails if a message of {@code type} arrives within {@code quiet}; other messages are kept in {@link #skipped}. */
    void expectNo(String type, Duration quiet) throws InterruptedException {
        long deadlineNs = System.nanoTime() + quiet.toNanos();
        long leftNs;
        while ((leftNs = deadlineNs - System.nanoTime()) > 0) {
            JsonNode n = inbox.poll(leftNs, TimeUnit.NANOSECONDS);
            if (n == null) {
                return;
            }
            if (type.equals(n.path("type").asText())) {
                fail("unexpected " + n);
            }
            skipped.add(n);
        }
    }

    /** Waits until the node closed the socket; returns the close status (-1: closed without a Close frame). */
    int awaitClosed() throws Exception {
        try {
            return closed.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the node did not close the socket within " + TIMEOUT, e);
        }
    }

    boolean isClosed() {
        return closed.isDone();
    }

    /** Proves the socket is alive and every earlier reply arrived: ping, and wait for the pong. */
    /** Before join: the node answers a ping with not_joined (never pong), which shows the socket is open. */
    void stillOpenBeforeJoin() throws Exception {
        send("type", "ping", "id", "alive?");
        JsonNode error = nextError("not_joined");
        if (!"alive?".equals(error.path("id").asText())) {
            fail("not_joined without the ping's id: " + error);
        }
    }

    void pingPong() throws Exception {
        send("type", "ping", "id", "alive?");
        JsonNode pong = next("pong");
        if (!"alive?".equals(pong.path("id").asText())) {
            fail("pong without the ping's id: " + pong);
        }
    }

    @Override
    public void close() {
        if (!socket.isOutputClosed()) {
            try {
                socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception ignored) {
                // already closing
            }
        }
        socket.abort();
    }

    /**
     * A bare RFC 6455 client on a plain TCP socket that sends exactly the frames it is told to: the JDK client
     * splits long messages into several frames, which hides how the node treats one large frame.
     */
    static final class RawWebSocket implements AutoCloseable {
        static final int TEXT = 0x1;
        static final int CONTINUATION = 0x0;
        static final int CLOSE = 0x8;

        private final Socket socket;
        private final DataInputStream in;
        private final OutputStream out;

        record Frame(int opcode, byte[] payload) {
            String text() {
                return new String(payload, StandardCharsets.UTF_8);
            }

            /** The status code of a Close frame. */
            int closeStatus() {
                return payload.length < 2 ? -1 : ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
            }
        }

        RawWebSocket(InetSocketAddress http) throws IOException {
            socket = new Socket();
            socket.connect(http, (int) TIMEOUT.toMillis());
            socket.setSoTimeout((int) TIMEOUT.toMillis());
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            out = new BufferedOutputStream(socket.getOutputStream());
            byte[] nonce = new byte[16];
            ThreadLocalRandom.current().nextBytes(nonce);
            out.write(("GET /ws HTTP/1.1\r\nHost: " + http.getHostString() + ":" + http.getPort()
                    + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                    + Base64.getEncoder().encodeToString(nonce) + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("connection closed during the handshake: " + head);
                }
                head.append((char) b);
            }
            if (!head.toString().startsWith("HTTP/1.1 101")) {
                throw new IOException("handshake refused: " + head);
            }
        }

        /** Sends one masked frame (clients must mask, RFC 6455 section 5.3). */
        void sendFrame(int opcode, boolean fin, byte[] payload) throws IOException {
            out.write((fin ? 0x80 : 0) | opcode);
            if (payload.length < 126) {
                out.write(0x80 | payload.length);
            } else if (payload.length <= 0xFFFF) {
                out.write(0x80 | 126);
                out.write(payload.length >>> 8);
                out.write(payload.length & 0xFF);
            } else {
                out.write(0x80 | 127);
                long len = payload.length;
                for (int shift = 56; shift >= 0; shift -= 8) {
                    out.write((int) (len >>> shift) & 0xFF);
                }
            }
            byte[] mask = new byte[4];
            ThreadLocalRandom.current().nextBytes(mask);
            out.write(mask);
            byte[] masked = new byte[payload.length];
            for (int i = 0; i < payload.length; i++) {
                masked[i] = (byte) (payload[i] ^ mask[i & 3]);
            }
            out.write(masked);
            out.flush();
        }

        void sendText(String text) throws IOException {
            sendFrame(TEXT, true, text.getBytes(StandardCharsets.UTF_8));
        }

        /**
         * Sends a frame the node is expected to refuse before reading it all: the node may close the connection
         * while the frame is still being written, which is not an error here. What the node answered stays
         * readable with {@link #next()}.
         */
        void sendRefusedText(String text) throws IOException {
            try {
                sendText(text);
            } catch (SocketException e) {
                // Broken pipe / reset: the node stopped reading, as expected.
            }
        }

        /** The next frame from the node, or null when it closed the connection; waits at most {@link #TIMEOUT}. */
        Frame next() throws IOException {
            try {
                return readFrame();
            } catch (SocketException | java.io.EOFException e) {
                return null; // reset or closed by the node after its Close frame
            }
        }

        private Frame readFrame() throws IOException {
            int b0 = in.read();
            if (b0 < 0) {
                return null;
            }
            int b1 = in.readUnsignedByte();
            long len = b1 & 0x7F;
            if (len == 126) {
                len = in.readUnsignedShort();
            } else if (len == 127) {
                len = in.readLong();
            }
            if ((b1 & 0x80) != 0) {
                throw new IOException("the node masked a frame");
            }
            byte[] payload = new byte[Math.toIntExact(len)];
            in.readFully(payload);
            return new Frame(b0 & 0x0F, payload);
        }

        /** The next text frame parsed as JSON; fails if the node closes first. */
        JsonNode nextJson() throws IOException {
            Frame f = next();
            if (f == null || f.opcode() != TEXT) {
                fail("expected a text frame, got " + (f == null ? "end of stream" : "opcode " + f.opcode()
                        + (f.opcode() == CLOSE ? " status " + f.closeStatus() : "")));
            }
            return JSON.readTree(f.payload());
        }

        /** Reads until the node's Close frame or end of stream; returns the close status (-1 without a Close frame). */
        int awaitClosed() throws IOException {
            Frame f;
            while ((f = next()) != null) {
                if (f.opcode() == CLOSE) {
                    return f.closeStatus();
                }
            }
            return -1;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
