package io.cascadesfu.core.media;

import io.cascadesfu.core.rtcp.RtcpWriter;
import io.netty.buffer.ByteBuf;

/**
 * Asks a publisher again for what did not arrive: detects gaps in a video producer's sequence numbers and writes
 * generic NACKs (RFC 4585 6.2.1) for them, at once for a new gap and again at most {@link #MAX_TRIES} times, each
 * retry a round trip after the last (the round trip measured from NACK to retransmission; 100 ms until then). A
 * packet missing for longer than {@link #GIVE_UP_NS} is given up (the subscribers' keyframe requests take over).
 *
 * <p>Threading: the producer's worker loop only. No allocation: a fixed table of missing packets.
 */
final class NackGenerator {
    static final int CAPACITY = 128;
    static final int MAX_TRIES = 3;
    static final long GIVE_UP_NS = 1_000_000_000L;
    static final long DEFAULT_RTT_NS = 100_000_000L;
    static final long MIN_RETRY_NS = 20_000_000L;
    /** A jump this large is a restart of the numbering, not loss. */
    static final int MAX_GAP = 200;
    /** NACK bytes written per call: one SRTCP packet well under the MTU. */
    static final int MAX_BYTES = 960;

    private final int[] seqs = new int[CAPACITY];
    private final long[] firstNs = new long[CAPACITY];
    private final long[] sentNs = new long[CAPACITY];
    private final int[] tries = new int[CAPACITY];
    private int size;
    private boolean started;
    /** Set by {@link #restart}: the next packet ahead leaves no gap behind it. */
    private boolean rebase;
    private int highest;
    private long rttNs = DEFAULT_RTT_NS;
    private long gaveUp;

    /**
     * The sender ended the stream (RTCP BYE): when it resumes, its numbers jump over what it did not send, which is
     * not loss to ask for. The next packet ahead is taken as where the numbers go on; what was missing before the BYE
     * is still asked for.
     */
    void restart() {
        rebase = true;
    }

    /** One packet arrived. */
    void onPacket(int seq, long nowNs) {
        if (!started) {
            started = true;
            highest = seq;
            return;
        }
        int diff = (short) (seq - highest);
        if (diff > 0 && rebase) {
            rebase = false;
            highest = seq;
            return;
        }
        if (diff > 0) {
            if (diff > MAX_GAP) {
                size = 0; // the source restarted its numbering
            } else {
                for (int s = highest + 1; s != highest + diff; s++) {
                    add(s & 0xFFFF, nowNs);
                }
            }
            highest = seq;
        } else {
            recovered(seq, nowNs);
        }
    }

    private void add(int seq, long nowNs) {
        if (size == CAPACITY) {
            remove(0); // the oldest: it would soon be given up anyway
            gaveUp++;
        }
        seqs[size] = seq;
        firstNs[size] = nowNs;
        sentNs[size] = 0;
        tries[size] = 0;
        size++;
    }

    private void recovered(int seq, long nowNs) {
        for (int i = 0; i < size; i++) {
            if (seqs[i] == seq) {
                if (tries[i] == 1) {
                    // Asked once and here now: one sample of the round trip to the publisher.
                    long sample = nowNs - sentNs[i];
                    rttNs = (rttNs * 7 + sample) / 8;
                }
                remove(i);
                return;
            }
        }
    }

    private void remove(int i) {
        size--;
        seqs[i] = seqs[size];
        firstNs[i] = firstNs[size];
        sentNs[i] = sentNs[size];
        tries[i] = tries[size];
    }

    /**
     * Appends NACKs for every missing packet due now (new, or a round trip since it was last asked for) to
     * {@code out}; drops those given up.
     *
     * @return the number of packets asked for (0: nothing was written)
     */
    int writeDue(ByteBuf out, long senderSsrc, long mediaSsrc, long nowNs) {
        long retryNs = retryNs();
        int asked = 0;
        int i = 0;
        int maxWriterIndex = out.writerIndex() + MAX_BYTES;
        while (i < size && out.writerIndex() < maxWriterIndex) {
            if (isGivenUp(i, nowNs, retryNs)) {
                remove(i);
                gaveUp++;
                continue;
            }
            if (isAskable(i, nowNs, retryNs)) {
                // One PID per entry, plus the BLP bits of the other due entries within 16 after it.
                int pid = seqs[i];
                int blp = 0;
                mark(i, nowNs);
                asked++;
                for (int j = i + 1; j < size; j++) {
                    int d = (seqs[j] - pid) & 0xFFFF;
                    if (d >= 1 && d <= 16 && isAskable(j, nowNs, retryNs)) {
                        blp |= 1 << (d - 1);
                        mark(j, nowNs);
                        asked++;
                    }
                }
                RtcpWriter.writeNack(out, senderSsrc, mediaSsrc, pid, blp);
            }
            i++;
        }
        return asked;
    }

    /** True if some missing packet is due to be asked for (or given up) at {@code nowNs}. */
    boolean isDue(long nowNs) {
        long retryNs = retryNs();
        for (int i = 0; i < size; i++) {
            if (isAskable(i, nowNs, retryNs) || isGivenUp(i, nowNs, retryNs)) {
                return true;
            }
        }
        return false;
    }

    /** Entry {@code i} is new, or was asked for a round trip ago and has tries left. */
    private boolean isAskable(int i, long nowNs, long retryNs) {
        return tries[i] < MAX_TRIES && (tries[i] == 0 || nowNs - sentNs[i] >= retryNs);
    }

    /** Entry {@code i} is too old, or its last try went unanswered for a round trip. */
    private boolean isGivenUp(int i, long nowNs, long retryNs) {
        return nowNs - firstNs[i] > GIVE_UP_NS || tries[i] >= MAX_TRIES && nowNs - sentNs[i] > retryNs;
    }

    private long retryNs() {
        return Math.max(MIN_RETRY_NS, rttNs + rttNs / 2);
    }

    private void mark(int i, long nowNs) {
        tries[i]++;
        sentNs[i] = nowNs;
    }

    int missing() {
        return size;
    }

    long rttNs() {
        return rttNs;
    }

    long gaveUp() {
        return gaveUp;
    }
}
