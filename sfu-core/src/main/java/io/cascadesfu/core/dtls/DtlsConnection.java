package io.cascadesfu.core.dtls;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import io.netty.buffer.ByteBuf;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.AlertLevel;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.DatagramTransport;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsTimeoutException;

/**
 * The engine shared by {@link DtlsServerSession} and {@link DtlsClientSession}: it feeds BouncyCastle's
 * blocking DTLS API from a bounded queue and turns its outcome into {@link DtlsListener} events.
 *
 * <p>Lifecycle: NEW, then HANDSHAKING while one task on the handshake executor runs the BouncyCastle
 * handshake (every receive waits at most until the handshake deadline; {@link #shutdown()} wakes it), then
 * CONNECTED, where no thread is parked: each late datagram (a retransmitted final flight, close_notify)
 * schedules a short drain task that runs {@code DTLSTransport.receive} with a 1 ms wait. CLOSED and FAILED
 * are final.
 *
 * <p>Threads: {@link #onDatagram} and {@link #shutdown()} from the transport's event loop (or any thread);
 * listener callbacks from the handshake executor. At most one handshake or drain task runs at a time.
 */
final class DtlsConnection implements DatagramTransport {

    /** Runs one BouncyCastle handshake over the given transport; used once. */
    interface Handshake {
        DTLSTransport run(DatagramTransport transport) throws IOException;

        /** Called after {@link #run} returned: the SRTP keys for this side. */
        SrtpKeys exportKeys() throws IOException;
    }

    /** UDP payload limit for what we send: flights are fragmented to fit (WebRTC uses about 1200). */
    static final int SEND_LIMIT = 1200;
    /** Larger datagrams are dropped. */
    static final int RECEIVE_LIMIT = 4096;
    static final int QUEUE_CAPACITY = 64;
    /** Upper bound on one wait of a drain task after the handshake. */
    private static final int DRAIN_WAIT_MS = 1;

    private static final int NEW = 0;
    private static final int HANDSHAKING = 1;
    private static final int CONNECTED = 2;
    private static final int CLOSED = 3;
    private static final int FAILED = 4;

    /** Queued by close() to wake a handshake blocked in receive. */
    private static final byte[] WAKE = new byte[0];

    private final Executor executor;
    private final DatagramSender sender;
    private final DtlsListener listener;
    private final long timeoutNs;
    private final Supplier<Handshake> handshakeFactory;
    private final ArrayBlockingQueue<byte[]> inbound = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final AtomicInteger state = new AtomicInteger(NEW);
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final LongAdder droppedDatagrams = new LongAdder();

    private volatile long deadlineNs;
    private volatile DTLSTransport dtls;
    /** First reason a peer callback gave for rejecting the handshake; wins over the exception text. */
    private volatile String failureReason;

    DtlsConnection(Executor executor, DatagramSender sender, DtlsListener listener, Duration handshakeTimeout,
                   Supplier<Handshake> handshakeFactory) {
        this.executor = Objects.requireNonNull(executor, "handshakeExecutor");
        this.sender = Objects.requireNonNull(sender, "sender");
        this.listener = Objects.requireNonNull(listener, "listener");
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("handshakeTimeout must be positive");
        }
        this.timeoutNs = handshakeTimeout.toNanos();
        this.handshakeFactory = handshakeFactory;
    }

    int handshakeTimeoutMillis() {
        return (int) Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(timeoutNs));
    }

    /** Starts the handshake task; false if already started or closed. */
    boolean start() {
        if (!state.compareAndSet(NEW, HANDSHAKING)) {
            return false;
        }
        deadlineNs = System.nanoTime() + timeoutNs;
        try {
            executor.execute(this::runHandshake);
        } catch (RejectedExecutionException e) {
            fail("handshake executor rejected the task");
        }
        return true;
    }

    /**
     * Queues a copy of a datagram. Never throws; the caller keeps ownership of {@code datagram}.
     *
     * @param startOnClientHello whether a ClientHello in state NEW starts the handshake (server role)
     */
    void onDatagram(ByteBuf datagram, boolean startOnClientHello) {
        try {
            int length = datagram.readableBytes();
            if (length > RECEIVE_LIMIT || !DtlsRecords.isWellFormed(datagram)) {
                droppedDatagrams.increment();
                return;
            }
            int s = state.get();
            if (s == NEW && startOnClientHello && DtlsRecords.startsWithClientHello(datagram)) {
                enqueue(datagram, length);
                start();
                return;
            }
            if (s != HANDSHAKING && s != CONNECTED) {
                droppedDatagrams.increment();
                return;
            }
            enqueue(datagram, length);
            if (s == CONNECTED) {
                scheduleDrain();
            }
        } catch (RuntimeException e) {
            droppedDatagrams.increment();
        }
    }

    private void enqueue(ByteBuf datagram, int length) {
        byte[] copy = new byte[length];
        datagram.getBytes(datagram.readerIndex(), copy);
        if (!inbound.offer(copy)) {
            droppedDatagrams.increment();
        }
    }

    boolean isConnected() {
        return state.get() == CONNECTED;
    }

    long droppedDatagrams() {
        return droppedDatagrams.sum();
    }

    /** Sends close_notify if connected, stops the handshake if one runs. Idempotent, no listener call. */
    void shutdown() {
        int previous;
        do {
            previous = state.get();
            if (previous == CLOSED || previous == FAILED) {
                return;
            }
        } while (!state.compareAndSet(previous, CLOSED));
        inbound.clear();
        inbound.offer(WAKE);
        if (previous == CONNECTED) {
            DTLSTransport transport = dtls;
            try {
                transport.close();
            } catch (IOException | RuntimeException e) {
                // The peer will time out instead; nothing else to release.
            }
        }
    }

    /** A peer callback rejected the handshake; the first reason is the one reported. */
    void reject(String reason) {
        if (failureReason == null) {
            failureReason = reason;
        }
    }

    /** From BouncyCastle's notifyAlertReceived, on the handshake or drain task. */
    void onAlertReceived(short level, short description) {
        if (level == AlertLevel.warning && description == AlertDescription.close_notify) {
            if (state.compareAndSet(CONNECTED, CLOSED)) {
                inbound.clear();
                notifyListener(() -> listener.onDtlsClosed());
            } else {
                reject("closed by peer");
            }
        } else if (level == AlertLevel.fatal) {
            reject("alert received: " + AlertDescription.getName(description)
                    + (state.get() == HANDSHAKING ? " (datagrams: " + handshakeTrace() + ")" : ""));
        }
    }

    private void runHandshake() {
        Handshake handshake;
        DTLSTransport transport;
        SrtpKeys keys;
        try {
            handshake = handshakeFactory.get();
            transport = handshake.run(this);
            keys = handshake.exportKeys();
        } catch (Exception e) {
            flushFlight(); // the alert BouncyCastle sent on its way out
            if (state.get() == HANDSHAKING) {
                fail(reasonFor(e));
            }
            return;
        }
        flushFlight(); // the last flight (the server's change cipher spec and finished)
        dtls = transport;
        trace = null;
        if (!state.compareAndSet(HANDSHAKING, CONNECTED)) {
            try {
                transport.close();
            } catch (IOException | RuntimeException e) {
                // closed while the last flight was in progress
            }
            return;
        }
        notifyListener(() -> listener.onDtlsConnected(keys));
        if (!inbound.isEmpty()) {
            scheduleDrain();
        }
    }

    /** Most datagrams the handshake trace describes: enough for every flight and a few resends. */
    private static final int TRACE_DATAGRAMS = 32;
    /** The handshake's datagrams (handshake thread only), for the failure reason; null once connected. */
    private StringBuilder trace = new StringBuilder();
    private int traced;

    /**
     * Notes one handshake datagram: when (ms since the start), which way, and each record's content type (22
     * handshake, 20 change cipher spec, 21 alert), epoch and, in epoch 0, the handshake message type (1 hello, 2
     * server hello, 11 certificate, 12 key exchange, 13 certificate request, 14 hello done, 15 verify, 16 client
     * key exchange). Handshake thread.
     */
    private void trace(boolean out, byte[] buf, int off, int len) {
        StringBuilder t = trace;
        if (t == null || state.get() != HANDSHAKING || traced++ >= TRACE_DATAGRAMS) {
            return;
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - (deadlineNs - timeoutNs));
        t.append(t.isEmpty() ? "" : " ").append(ms).append(out ? ">" : "<");
        int at = off;
        int records = 0;
        while (at + 13 <= off + len && records++ < 8) {
            int type = buf[at] & 0xFF;
            int epoch = (buf[at + 3] & 0xFF) << 8 | (buf[at + 4] & 0xFF);
            int length = (buf[at + 11] & 0xFF) << 8 | (buf[at + 12] & 0xFF);
            t.append(records > 1 ? "," : "").append(type);
            if (epoch != 0) {
                t.append('e').append(epoch);
            } else if (type == 22 && at + 13 < off + len) {
                t.append('.').append(buf[at + 13] & 0xFF);
            }
            at += 13 + length;
        }
        t.append('/').append(len);
    }

    /** What the handshake sent and received, for a failure's log line; empty once connected. */
    String handshakeTrace() {
        StringBuilder t = trace;
        return t == null ? "" : t.toString();
    }

    private String reasonFor(Exception e) {
        String reason = failureReason;
        if (reason != null) {
            return reason;
        }
        if (e instanceof TlsTimeoutException || System.nanoTime() - deadlineNs >= 0) {
            return "timeout (datagrams: " + handshakeTrace() + ")";
        }
        if (e instanceof TlsFatalAlert alert) {
            return "handshake failed: " + AlertDescription.getName(alert.getAlertDescription());
        }
        return "handshake failed: " + e;
    }

    private void fail(String reason) {
        int s = state.get();
        while (s == NEW || s == HANDSHAKING || s == CONNECTED) {
            if (state.compareAndSet(s, FAILED)) {
                inbound.clear();
                notifyListener(() -> listener.onDtlsFailed(reason));
                return;
            }
            s = state.get();
        }
    }

    private void notifyListener(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            // A listener bug must not take the session down with it.
        }
    }

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                executor.execute(this::drain);
            } catch (RejectedExecutionException e) {
                drainScheduled.set(false);
            }
        }
    }

    /** Feeds queued late datagrams to the established DTLS transport; application data is discarded. */
    private void drain() {
        try {
            DTLSTransport transport = dtls;
            byte[] buffer = new byte[Math.max(transport.getReceiveLimit(), 1)];
            while (state.get() == CONNECTED && !inbound.isEmpty()) {
                transport.receive(buffer, 0, buffer.length, DRAIN_WAIT_MS);
            }
        } catch (IOException | RuntimeException e) {
            if (state.get() == CONNECTED) {
                String reason = failureReason;
                fail(reason != null ? reason : "connection failed: " + e);
            }
        } finally {
            drainScheduled.set(false);
        }
        if (state.get() == CONNECTED && !inbound.isEmpty()) {
            scheduleDrain();
        }
    }

    // ---- BouncyCastle DatagramTransport, called from the handshake or drain task ----

    @Override
    public int getReceiveLimit() {
        return RECEIVE_LIMIT;
    }

    @Override
    public int getSendLimit() {
        return SEND_LIMIT;
    }

    @Override
    public int receive(byte[] buf, int off, int len, int waitMillis) throws IOException {
        flushFlight(); // BouncyCastle waits for the peer: its flight is complete
        int s = state.get();
        byte[] datagram;
        try {
            if (s == HANDSHAKING) {
                long remainingNs = deadlineNs - System.nanoTime();
                if (remainingNs <= 0) {
                    throw new TlsTimeoutException("timeout");
                }
                // BouncyCastle's 0 means "no limit": ours is the handshake deadline.
                long waitNs = waitMillis <= 0 ? remainingNs : Math.min(remainingNs, TimeUnit.MILLISECONDS.toNanos(waitMillis));
                datagram = inbound.poll(waitNs, TimeUnit.NANOSECONDS);
                if (datagram == WAKE || state.get() != HANDSHAKING) {
                    throw new IOException("closed");
                }
            } else if (s == CONNECTED) {
                datagram = inbound.poll(Math.min(Math.max(waitMillis, 0), DRAIN_WAIT_MS), TimeUnit.MILLISECONDS);
                if (datagram == WAKE) {
                    return -1;
                }
            } else {
                // Closed or failed: never block, never raise (that would make BouncyCastle send an alert).
                return -1;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
        if (datagram == null) {
            return -1;
        }
        int n = Math.min(datagram.length, len);
        System.arraycopy(datagram, 0, buf, off, n);
        trace(false, buf, off, n);
        return n;
    }

    @Override
    public void send(byte[] buf, int off, int len) {
        synchronized (flight) {
            if (state.get() == HANDSHAKING && len <= SEND_LIMIT) {
                // BouncyCastle sends each record of a flight as a datagram of its own: they go out together, as
                // few datagrams as fit (RFC 6347 4.1.1 allows several records in one), when it waits for the
                // answer. A flight then arrives whole or not at all, which BouncyCastle needs: a change cipher
                // spec that overtakes a lost message before it makes that message's resend unreadable (its
                // epoch is left behind) and the handshake never completes.
                if (flightLength + len > SEND_LIMIT) {
                    flushFlight();
                }
                System.arraycopy(buf, off, flight, flightLength, len);
                flightLength += len;
                return;
            }
            flushFlight();
        }
        sendNow(buf, off, len);
    }

    /** Records of the current flight not sent yet ({@link #send}); guarded by itself. */
    private final byte[] flight = new byte[SEND_LIMIT];
    private int flightLength;

    /** Sends the records gathered of the current flight as one datagram, if any. */
    private void flushFlight() {
        synchronized (flight) {
            if (flightLength > 0) {
                sendNow(flight, 0, flightLength);
                flightLength = 0;
            }
        }
    }

    private void sendNow(byte[] buf, int off, int len) {
        trace(true, buf, off, len);
        try {
            sender.send(buf, off, len);
        } catch (RuntimeException e) {
            // Like a lost datagram: DTLS retransmits the flight.
        }
    }

    @Override
    public void close() {
        // BouncyCastle closes its record layer; the session's state is driven by shutdown().
    }
}
