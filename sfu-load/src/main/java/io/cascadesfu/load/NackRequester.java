package io.cascadesfu.load;

import io.cascadesfu.core.rtcp.RtcpWriter;
import io.netty.buffer.ByteBuf;

/**
 * A simulated subscriber's NACK generator for one received video stream, as a browser's: a gap in the extended
 * sequence numbers is asked for at once with a generic NACK (RFC 4585 6.2.1), again a round trip later (1.5 × the
 * round trip measured from a first NACK to its retransmission, {@value #DEFAULT_RTT_MS} ms until then, never
 * under {@value #MIN_RETRY_MS} ms) at most {@value #MAX_TRIES} times in all, and given up after
 * {@value #GIVE_UP_MS} ms.
 *
 * <p>Threading: the subscriber client's event loop only (with its {@link ReceiveStream}). No allocation per
 * packet: a fixed table of missing sequence numbers.
 */
final class NackRequester {
    static final int CAPACITY = 256;
    static final int MAX_TRIES = 3;
    static final long GIVE_UP_MS = 1000;
    static final long DEFAULT_RTT_MS = 100;
    static final long MIN_RETRY_MS = 20;
    /** A jump this large is a restart of the numbering, not loss. */
    static final int MAX_GAP = 200;
    /** NACK bytes written per call: one SRTCP packet well under the MTU. */
    static final int MAX_BYTES = 960;

    private final long[] missing = new long[CAPACITY];   // extended sequence numbers
    private final long[] firstNs = new long[CAPACITY];
    private final long[] askedNs = new long[CAPACITY];
    private final int[] tries = new int[CAPACITY];
    private int size;
    private long rttNs = DEFAULT_RTT_MS * 1_000_000L;
    private long requested;
    private long gaveUp;

    /**
     * The stream's highest extended sequence number went from {@code previousHighest} to {@code highest}: the
     * numbers in between are missing from now.
     */
    void onGap(long previousHighest, long highest, long nowNs) {
        long gap = highest - previousHighest - 1;
        if (gap <= 0) {
            return;
        }
        if (gap > MAX_GAP) {
            size = 0;
            return;
        }
        for (long s = previousHighest + 1; s < highest; s++) {
            if (size == CAPACITY) {
                remove(0);
                gaveUp++;
            }
            missing[size] = s;
            firstNs[size] = nowNs;
            askedNs[size] = 0;
            tries[size] = 0;
            size++;
        }
    }

    /** A packet older than the highest arrived (a retransmission, or reordered): no longer missing. */
    void onLate(long extendedSeq, long nowNs) {
        for (int i = 0; i < size; i++) {
            if (missing[i] == extendedSeq) {
                if (tries[i] == 1) {
                    rttNs = (rttNs * 7 + (nowNs - askedNs[i])) / 8;
                }
                remove(i);
                return;
            }
        }
    }

    /** True if some missing packet is due to be asked for (or given up) now. */
    boolean isDue(long nowNs) {
        long retryNs = retryNs();
        for (int i = 0; i < size; i++) {
            if (askable(i, nowNs, retryNs) || givenUp(i, nowNs, retryNs)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Appends NACKs for every missing packet due now to {@code out} (which the caller owns), one PID per entry
     * and the BLP bits of other due entries up to 16 after it; drops those given up.
     *
     * @return the number of packets asked for (0: nothing was written)
     */
    int writeDue(ByteBuf out, long senderSsrc, long mediaSsrc, long nowNs) {
        long retryNs = retryNs();
        int asked = 0;
        int limit = out.writerIndex() + MAX_BYTES;
        int i = 0;
        while (i < size && out.writerIndex() < limit) {
            if (givenUp(i, nowNs, retryNs)) {
                remove(i);
                gaveUp++;
                continue;
            }
            if (askable(i, nowNs, retryNs)) {
                long pid = missing[i];
                int blp = 0;
                mark(i, nowNs);
                asked++;
                for (int j = i + 1; j < size; j++) {
                    long d = missing[j] - pid;
                    if (d >= 1 && d <= 16 && askable(j, nowNs, retryNs)) {
                        blp |= 1 << (d - 1);
                        mark(j, nowNs);
                        asked++;
                    }
                }
                RtcpWriter.writeNack(out, senderSsrc, mediaSsrc, (int) (pid & 0xFFFF), blp);
            }
            i++;
        }
        requested += asked;
        return asked;
    }

    private boolean askable(int i, long nowNs, long retryNs) {
        return tries[i] < MAX_TRIES && (tries[i] == 0 || nowNs - askedNs[i] >= retryNs);
    }

    private boolean givenUp(int i, long nowNs, long retryNs) {
        return nowNs - firstNs[i] > GIVE_UP_MS * 1_000_000L || tries[i] >= MAX_TRIES && nowNs - askedNs[i] > retryNs;
    }

    private void mark(int i, long nowNs) {
        tries[i]++;
        askedNs[i] = nowNs;
    }

    private void remove(int i) {
        size--;
        missing[i] = missing[size];
        firstNs[i] = firstNs[size];
        askedNs[i] = askedNs[size];
        tries[i] = tries[size];
    }

    private long retryNs() {
        return Math.max(MIN_RETRY_MS * 1_000_000L, rttNs + rttNs / 2);
    }

    int missing() {
        return size;
    }

    long rttNs() {
        return rttNs;
    }

    /** Packets asked for so far, retries included. */
    long requested() {
        return requested;
    }

    long gaveUp() {
        return gaveUp;
    }
}
