package io.cascadesfu.core.media;

import io.cascadesfu.core.metrics.SfuMetrics;
import io.cascadesfu.core.transport.MediaTransport;
import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The forwarding core of one room on one worker: its peers (transports: browsers, pipes to the room's
 * routers on other workers), the producers they publish and the consumers that carry each producer to a
 * subscriber peer. Which subscriber consumes which producer is decided by the room
 * ({@code io.cascadesfu.core.room}); the router makes it so and sends the periodic RTCP. It does not know
 * whether a peer is a browser or a pipe.
 *
 * <p>Lifecycle: made when a room first needs this worker, closed when the room closes.
 * Threading: every method on the worker's event loop {@link #loop()} (asserted).
 */
public final class Router {
    static final long REPORT_INTERVAL_MS = 1000;
    /** How often publishers that negotiated transport-cc get feedback (libwebrtc sends it every 50-250 ms). */
    static final long TRANSPORT_FEEDBACK_INTERVAL_MS = 100;
    /** How often each peer's bandwidth estimate is shared among what it receives. */
    static final long ALLOCATION_INTERVAL_MS = 500;
    private int feedbackTicks;
    /** How often the producers on pipes and relay links tell the far end which layers they need. */
    static final long LAYER_REQUEST_INTERVAL_MS = 250;
    private final ScheduledFuture<?> layerTimer;

    private final String id;
    private final EventLoop loop;
    private final SfuMetrics metrics;
    private final Map<String, MediaPeer> peers = new LinkedHashMap<>();
    private final Map<String, Producer> producers = new LinkedHashMap<>();
    private final ScheduledFuture<?> reportTimer;
    /** Started when the first peer needs transport-cc feedback. */
    private ScheduledFuture<?> feedbackTimer;
    private final long keyframeRequestIntervalNs;
    private int nextConsumerId;
    private boolean closed;

    public Router(String id, EventLoop loop, SfuMetrics metrics) {
        this(id, loop, metrics, Producer.DEFAULT_KEYFRAME_REQUEST_INTERVAL_NS);
    }

    /** @param keyframeRequestIntervalNs a publisher is asked for a keyframe at most once per this, per track */
    public Router(String id, EventLoop loop, SfuMetrics metrics, long keyframeRequestIntervalNs) {
        this.keyframeRequestIntervalNs = keyframeRequestIntervalNs;
        this.id = id;
        this.loop = loop;
        this.metrics = metrics;
        this.reportTimer = loop.scheduleAtFixedRate(this::sendReports, REPORT_INTERVAL_MS, REPORT_INTERVAL_MS,
                TimeUnit.MILLISECONDS);
        this.layerTimer = loop.scheduleAtFixedRate(this::sendLayerRequests, LAYER_REQUEST_INTERVAL_MS,
                LAYER_REQUEST_INTERVAL_MS, TimeUnit.MILLISECONDS);
    }

    public String id() {
        return id;
    }

    public EventLoop loop() {
        return loop;
    }

    /** Wraps a transport as a peer of this router. */
    public MediaPeer addPeer(String peerId, MediaTransport transport) {
        assert loop.inEventLoop();
        MediaPeer peer = new MediaPeer(peerId, transport, this, metrics);
        peers.put(peerId, peer);
        return peer;
    }

    /** Closes the peer, its producers (and their consumers everywhere) and its transport. */
    public void removePeer(MediaPeer peer, String reason) {
        assert loop.inEventLoop();
        peers.remove(peer.id(), peer);
        peer.close(reason);
    }

    /** Starts forwarding a track the peer publishes. */
    public Producer produce(String producerId, MediaPeer publisher, ProducerParams params) {
        assert loop.inEventLoop();
        Producer p = new Producer(producerId, publisher, params, keyframeRequestIntervalNs);
        producers.put(producerId, p);
        publisher.addProducer(p);
        return p;
    }

    public Producer producer(String producerId) {
        return producers.get(producerId);
    }

    public List<Producer> producers() {
        return Collections.unmodifiableList(new ArrayList<>(producers.values()));
    }

    /** Stops a track: its consumers close too. */
    public void closeProducer(Producer p) {
        assert loop.inEventLoop();
        producers.remove(p.id(), p);
        p.publisher().removeProducer(p);
        p.close();
    }

    /** Starts sending a producer's packets to a subscriber peer, rewritten to what it negotiated. */
    public Consumer consume(MediaPeer subscriber, Producer producer, ConsumerParams params) {
        assert loop.inEventLoop();
        return attach(new SimpleConsumer(id + "-c" + (++nextConsumerId), producer, subscriber, params));
    }

    /**
     * Starts sending a producer's packets into a pipe peer (to another router) with the SSRC {@code ssrc};
     * nothing else of the packets changes.
     */
    public Consumer pipeConsume(MediaPeer pipe, Producer producer, long ssrc) {
        assert loop.inEventLoop();
        ConsumerParams params = ConsumerParams.unchanged(ssrc, producer.params().payloadType());
        return attach(new PipeConsumer(id + "-p" + (++nextConsumerId), producer, pipe, params));
    }

    private Consumer attach(Consumer c) {
        Producer producer = c.producer();
        MediaPeer subscriber = c.subscriber();
        producer.addConsumer(c);
        subscriber.addConsumer(c);
        if (subscriber.transport().isConnected()) {
            c.onSubscriberConnected(System.nanoTime());
        }
        return c;
    }

    public void closeConsumer(Consumer c) {
        assert loop.inEventLoop();
        c.close();
    }

    public int peerCount() {
        return peers.size();
    }

    public int producerCount() {
        return producers.size();
    }

    /** Consumers of every producer of this router. */
    public int consumerCount() {
        int n = 0;
        for (Producer p : producers.values()) {
            n += p.consumerCount();
        }
        return n;
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * A peer publishes with transport-cc (feedback goes out every {@link #TRANSPORT_FEEDBACK_INTERVAL_MS}) or
     * receives with it (its estimate is allocated every {@link #ALLOCATION_INTERVAL_MS}).
     */
    void transportFeedbackNeeded() {
        if (feedbackTimer == null && !closed) {
            feedbackTimer = loop.scheduleAtFixedRate(this::sendTransportFeedback, TRANSPORT_FEEDBACK_INTERVAL_MS,
                    TRANSPORT_FEEDBACK_INTERVAL_MS, TimeUnit.MILLISECONDS);
        }
    }

    private void sendTransportFeedback() {
        boolean allocate = ++feedbackTicks % (ALLOCATION_INTERVAL_MS / TRANSPORT_FEEDBACK_INTERVAL_MS) == 0;
        long nowNs = System.nanoTime();
        for (MediaPeer peer : peers.values()) {
            try {
                peer.sendTransportFeedback();
                if (allocate) {
                    peer.allocate(nowNs);
                }
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(Router.class).warn("transport-cc feedback for {} failed", peer, e);
            }
        }
    }

    private void sendLayerRequests() {
        long nowNs = System.nanoTime();
        for (MediaPeer peer : peers.values()) {
            try {
                peer.sendLayerRequests(nowNs);
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(Router.class).warn("layer requests for {} failed", peer, e);
            }
        }
    }

    private void sendReports() {
        long nowNs = System.nanoTime();
        for (MediaPeer peer : peers.values()) {
            try {
                peer.sendReports(nowNs);
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(Router.class).warn("RTCP reports for {} failed", peer, e);
            }
        }
    }

    public void close() {
        assert loop.inEventLoop();
        if (closed) {
            return;
        }
        closed = true;
        reportTimer.cancel(false);
        layerTimer.cancel(false);
        if (feedbackTimer != null) {
            feedbackTimer.cancel(false);
        }
        for (MediaPeer peer : new ArrayList<>(peers.values())) {
            peer.close("room closed");
        }
        peers.clear();
        producers.clear();
    }
}
