package io.cascadesfu.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The relay with plain UDP sockets on loopback: delay and loss per direction, measured. */
@Timeout(30)
class ImpairmentRelayTest {
    static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

    /** What one side measured: packets that arrived and their median one-way delay. */
    record Measured(int received, double medianDelayMs, boolean inOrder) {
    }

    @Test
    void delaysAndDropsClientToTargetTrafficAsConfigured() throws Exception {
        try (DatagramSocket target = new DatagramSocket(LOOPBACK);
             DatagramSocket client = new DatagramSocket(LOOPBACK);
             ImpairmentRelay relay = ImpairmentRelay.start(LOOPBACK, (InetSocketAddress) target.getLocalSocketAddress(),
                     Impairment.parse("delay=30ms,loss=10%"), Impairment.NONE)) {
            int sent = 1500;
            Measured m = sendAndMeasure(client, relay.address(), target, sent);
            assertTrue(m.received() >= sent * 0.86 && m.received() <= sent * 0.94,
                    "10% loss: received " + m.received() + " of " + sent);
            assertTrue(m.medianDelayMs() >= 29 && m.medianDelayMs() <= 40, "30 ms delay: median " + m.medianDelayMs());
            assertTrue(m.inOrder(), "a flow is never reordered");
            assertEquals(sent - m.received(), relay.upDropped());
        }
    }

    @Test
    void impairsTargetToClientTrafficAndGivesEachClientItsOwnAddress() throws Exception {
        try (DatagramSocket target = new DatagramSocket(LOOPBACK);
             DatagramSocket clientA = new DatagramSocket(LOOPBACK);
             DatagramSocket clientB = new DatagramSocket(LOOPBACK);
             ImpairmentRelay relay = ImpairmentRelay.start(LOOPBACK, (InetSocketAddress) target.getLocalSocketAddress(),
                     Impairment.NONE, Impairment.parse("delay=20ms,jitter=4ms,loss=5%"))) {
            target.setSoTimeout(2000);
            // Each client says hello so the relay opens a flow; the target sees two distinct sources.
            InetSocketAddress[] flows = new InetSocketAddress[2];
            DatagramSocket[] clients = {clientA, clientB};
            for (int i = 0; i < 2; i++) {
                byte[] hello = {(byte) i};
                clients[i].send(new DatagramPacket(hello, 1, relay.address()));
                DatagramPacket got = new DatagramPacket(new byte[16], 16);
                target.receive(got);
                flows[got.getData()[0]] = (InetSocketAddress) got.getSocketAddress();
            }
            assertNotEquals(flows[0], flows[1], "the target must see one address per client");
            assertNotEquals(relay.address(), flows[0]);

            int sent = 1500;
            Measured m = replyAndMeasure(target, flows[1], clientB, sent);
            assertTrue(m.received() >= sent * 0.925 && m.received() <= sent * 0.975,
                    "5% loss: received " + m.received() + " of " + sent);
            assertTrue(m.medianDelayMs() >= 19 && m.medianDelayMs() <= 30, "20 ms delay: median " + m.medianDelayMs());
            assertTrue(m.inOrder(), "jitter must not reorder a flow");
        }
    }

    @Test
    void parsesImpairmentText() {
        Impairment i = Impairment.parse("delay=40ms, jitter=5ms ,loss=2%,rate=2mbit");
        assertEquals(40_000, i.delayUs());
        assertEquals(5_000, i.jitterUs());
        assertEquals(2.0, i.lossPercent());
        assertEquals(2_000_000, i.rateBps());
        assertEquals(1_500_000, Impairment.parse("delay=1.5s").delayUs());
        assertTrue(Impairment.parse("").isNone());
        assertThrows(IllegalArgumentException.class, () -> Impairment.parse("loss=120%"));
        assertThrows(IllegalArgumentException.class, () -> Impairment.parse("latency=3ms"));
        assertThrows(IllegalArgumentException.class, () -> Impairment.parse("delay=abc"));
    }

    /** Sends numbered, timestamped packets every 1 ms from {@code from} to {@code to}; {@code sink} receives. */
    private static Measured sendAndMeasure(DatagramSocket from, InetSocketAddress to, DatagramSocket sink, int count)
            throws Exception {
        Thread sender = new Thread(() -> {
            try {
                for (int i = 0; i < count; i++) {
                    byte[] b = ByteBuffer.allocate(100).putInt(i).putLong(System.nanoTime()).array();
                    from.send(new DatagramPacket(b, b.length, to));
                    if (i % 2 == 1) {
                        Thread.sleep(1);
                    }
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        sender.start();
        Measured m = receive(sink, count);
        sender.join(10_000);
        return m;
    }

    private static Measured replyAndMeasure(DatagramSocket from, InetSocketAddress to, DatagramSocket sink, int count)
            throws Exception {
        return sendAndMeasure(from, to, sink, count);
    }

    /** Receives until {@code count} arrived or the line has been quiet for 500 ms. */
    private static Measured receive(DatagramSocket sink, int count) throws Exception {
        sink.setSoTimeout(500);
        long[] delaysNs = new long[count];
        int received = 0;
        int last = -1;
        boolean inOrder = true;
        byte[] buf = new byte[2048];
        while (received < count) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                sink.receive(p);
            } catch (SocketTimeoutException e) {
                break;
            }
            long now = System.nanoTime();
            ByteBuffer b = ByteBuffer.wrap(p.getData(), 0, p.getLength());
            int seq = b.getInt();
            inOrder &= seq > last;
            last = seq;
            delaysNs[received++] = now - b.getLong();
        }
        long[] d = Arrays.copyOf(delaysNs, received);
        Arrays.sort(d);
        return new Measured(received, received == 0 ? -1 : d[received / 2] / 1e6, inOrder);
    }
}
