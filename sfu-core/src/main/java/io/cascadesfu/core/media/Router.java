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
 * The forwarding core of one room: its peers (transports), the producers they publish and the
 * consumers that carry each producer to a subscriber. Which subscriber consumes which producer
 * is decided by the signaling layer; the router makes it so and sends the periodic RTCP.
 *
 * <p>Lifecycle: made when a room gets its first participant, closed when it empties.
 * Threading: every method on the media event loop {@link #loop()}.
 */
public final class Router {
    static final long REPORT_INTERVAL_MS = 1000;

    private final String id;
    private final EventLoop loop;
    private final SfuMetrics metrics;
    private final Map<String, MediaPeer> peers = new LinkedHashMap<>();
    private final Map<String, Producer> producers = new LinkedHashMap<>();
    private final ScheduledFuture<?> reportTimer;
    private int nextConsumerId;
    private boolean closed;

    public Router(String id, EventLoop loop, SfuMetrics metrics) {
        this.id = id;
        this.loop = loop;
        this.metrics = metrics;
        this.reportTimer = loop.scheduleAtFixedRate(this::sendReports, REPORT_INTERVAL_MS, REPORT_INTERVAL_MS,
                TimeUnit.MILLISECONDS);
    }

    public String id() {
        return id;
    }

    public EventLoop loop() {
        return loop;
    }

    /** Wraps a transport as a peer of this router. */
    public MediaPeer addPeer(String peerId, MediaTransport transport) {
        MediaPeer peer = new MediaPeer(peerId, transport, this, metrics);
        peers.put(peerId, peer);
        return peer;
    }

    /** Closes the peer, its producers (and their consumers everywhere) and its transport. */
    public void removePeer(MediaPeer peer, String reason) {
        peers.remove(peer.id(), peer);
        peer.close(reason);
    }

    /** Starts forwarding a track the peer publishes. */
    public Producer produce(String producerId, MediaPeer publisher, ProducerParams params) {
        Producer p = new Producer(producerId, publisher, params);
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
        producers.remove(p.id(), p);
        p.publisher().removeProducer(p);
        p.close();
    }

    /** Starts sending a producer's packets to a subscriber peer. */
    public Consumer consume(MediaPeer subscriber, Producer producer, ConsumerParams params) {
        Consumer c = new Consumer(id + "-c" + (++nextConsumerId), producer, subscriber, params);
        producer.addConsumer(c);
        subscriber.addConsumer(c);
        if (subscriber.transport().isConnected()) {
            c.onSubscriberConnected(System.nanoTime());
        }
        return c;
    }

    public void closeConsumer(Consumer c) {
        c.close();
    }

    public int peerCount() {
        return peers.size();
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
        if (closed) {
            return;
        }
        closed = true;
        reportTimer.cancel(false);
        for (MediaPeer peer : new ArrayList<>(peers.values())) {
            peer.close("room closed");
        }
        peers.clear();
        producers.clear();
    }
}
