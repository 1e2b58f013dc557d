package io.cascadesfu.core.rtp;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;

/**
 * Maps the sequence numbers and timestamps of the stream a consumer currently forwards onto one continuous
 * outgoing stream with its own SSRC, so that the subscriber sees a single stream across simulcast layer switches,
 * producer restarts and wrap-arounds.
 *
 * <p>Within one source the mapping is a fixed offset: {@code outSeq = inSeq + seqOffset (mod 2^16)} and
 * {@code outTs = inTs + tsOffset (mod 2^32)}, so reordered packets map consistently. The offsets are chosen at the
 * first packet of each source: the first source keeps its own numbers; after {@link #switchSource()} the next
 * packet gets the sequence number following the highest one sent, and a timestamp advanced from the last one sent
 * by the wall time elapsed since it was sent (at least one tick, so the new frame never shares a timestamp with
 * the last one of the old source).
 *
 * <p>Drops: packets older than the first packet of the current source (they would collide with numbers already
 * used for the old source), packets more than {@link #WINDOW} behind the highest one, and duplicates inside that
 * window (tracked in a bitmap).
 *
 * <p>Lifecycle: one per consumer stream, created when the consumer is set up, dropped with it. Not thread-safe:
 * only the event loop that owns the consumer may call it. No allocation after construction.
 */
public final class RtpRewriter {

    /** How far behind the highest sequence number a packet may arrive and still be forwarded. Power of two. */
    public static final int WINDOW = 512;
    private static final int WINDOW_MASK = WINDOW - 1;
    /**
     * A packet this far or further behind the highest one, followed by its successor, means the source restarted
     * its numbering without {@link #switchSource()} (the misorder rule of RFC 3550 A.1); the rewriter then
     * continues from it as from a new source.
     */
    static final int RESTART_DISTANCE = 3000;
    private static final long TIMESTAMP_MASK = 0xFFFF_FFFFL;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final long outSsrc;
    private final int clockRate;
    /** Bit (extSeq & WINDOW_MASK) is set if that input sequence number was forwarded. */
    private final long[] seen = new long[WINDOW / 64];

    /** True until the first packet of the current source arrives. */
    private boolean awaitingFirst = true;
    /** True once any packet was sent, so later sources continue from it. */
    private boolean started;
    /** Extended input sequence number of the first and the highest packet of the current source. */
    private long inBaseExt;
    private long inHighestExt;
    /** Sequence number that, if it comes next, confirms a restart (see {@link #RESTART_DISTANCE}); -1 if none. */
    private int restartCandidateSeq = -1;
    /** outSeqExt = inExt + seqOffset; outTs = inTs + tsOffset (mod 2^32). */
    private long seqOffset;
    private long tsOffset;
    /** Highest outgoing extended sequence number, its timestamp and the time it was sent. */
    private long lastOutSeqExt;
    private long lastOutTs;
    private long lastOutNs;

    /** {@code clockRate} in Hz (90000 for video, 48000 for Opus). */
    public RtpRewriter(long outSsrc, int clockRate) {
        if (clockRate <= 0) {
            throw new IllegalArgumentException("clockRate must be positive: " + clockRate);
        }
        this.outSsrc = outSsrc & TIMESTAMP_MASK;
        this.clockRate = clockRate;
    }

    /**
     * Rewrites sequence number, timestamp and SSRC in place for a packet of the current source. The caller keeps
     * ownership of {@code buf}.
     *
     * @param nowNs monotonic time the packet is being forwarded at (e.g. {@code System.nanoTime()})
     * @return false if the packet must be dropped (too old, from before the current source's first packet, or a
     *     duplicate); the buffer is then left unchanged
     */
    public boolean rewrite(ByteBuf buf, long nowNs) {
        if (buf.readableBytes() < RtpPacket.HEADER_LENGTH) {
            return false;
        }
        int seq = RtpPacket.sequenceNumber(buf);
        long ts = RtpPacket.timestamp(buf);
        long inExt;
        if (awaitingFirst) {
            startSource(seq, ts, nowNs);
            inExt = inHighestExt;
        } else {
            inExt = inHighestExt + (short) (seq - (int) inHighestExt);
            if (inExt < inBaseExt || inExt <= inHighestExt - WINDOW) {
                if (inHighestExt - inExt <= RESTART_DISTANCE || seq != restartCandidateSeq) {
                    restartCandidateSeq = (seq + 1) & 0xFFFF;
                    return false;
                }
                // Two consecutive packets far behind: the source restarted its numbering without a switch.
                startSource(seq, ts, nowNs);
                inExt = inHighestExt;
            } else if (inExt > inHighestExt) {
                advanceWindow(inExt);
            } else if (isSeen(inExt)) {
                return false;
            }
        }
        markSeen(inExt);
        long outSeqExt = inExt + seqOffset;
        long outTs = (ts + tsOffset) & TIMESTAMP_MASK;
        if (outSeqExt > lastOutSeqExt || !started) {
            lastOutSeqExt = outSeqExt;
            lastOutTs = outTs;
            lastOutNs = nowNs;
        }
        started = true;
        RtpPacket.setSequenceNumber(buf, (int) outSeqExt);
        RtpPacket.setTimestamp(buf, outTs);
        RtpPacket.setSsrc(buf, outSsrc);
        return true;
    }

    /**
     * The next packet comes from a new source (another SSRC, or the same one restarted): its numbers continue the
     * outgoing stream, with the timestamp advanced by the elapsed wall time. Call before rewriting that packet.
     */
    public void switchSource() {
        awaitingFirst = true;
    }

    /**
     * The input sequence number that was (or would have been) sent as {@code outSeq}, for answering a NACK: -1 if
     * {@code outSeq} is not of the current source, or is more than {@link #WINDOW} behind the highest sent.
     */
    public int inputSequenceOf(int outSeq) {
        if (!started || awaitingFirst) {
            return -1;
        }
        long outExt = lastOutSeqExt + (short) (outSeq - (int) lastOutSeqExt);
        long inExt = outExt - seqOffset;
        if (outExt > lastOutSeqExt || inExt < inBaseExt || inExt <= inHighestExt - WINDOW) {
            return -1;
        }
        return (int) inExt & 0xFFFF;
    }

    /**
     * Rewrites a copy of an already forwarded packet for retransmission as {@code outSeq} (what the subscriber
     * NACKed): sequence number, timestamp and SSRC as when it was first sent. Changes no state.
     *
     * @return false if the packet is not the one {@code outSeq} maps to
     */
    public boolean rewriteRetransmission(ByteBuf buf, int outSeq) {
        int in = inputSequenceOf(outSeq);
        if (in < 0 || buf.readableBytes() < RtpPacket.HEADER_LENGTH || RtpPacket.sequenceNumber(buf) != in) {
            return false;
        }
        RtpPacket.setSequenceNumber(buf, outSeq);
        RtpPacket.setTimestamp(buf, (RtpPacket.timestamp(buf) + tsOffset) & TIMESTAMP_MASK);
        RtpPacket.setSsrc(buf, outSsrc);
        return true;
    }

    /** Highest outgoing sequence number sent so far (0 before the first packet). */
    public int lastOutSequence() {
        return (int) lastOutSeqExt & 0xFFFF;
    }

    /** Outgoing timestamp of the packet with the highest outgoing sequence number (0 before the first packet). */
    public long lastOutTimestamp() {
        return lastOutTs;
    }

    public long outSsrc() {
        return outSsrc;
    }

    private void startSource(int seq, long ts, long nowNs) {
        awaitingFirst = false;
        restartCandidateSeq = -1;
        // Extended numbers of a source start one cycle up so that reordering below the first never goes negative.
        inBaseExt = (1L << 16) + seq;
        inHighestExt = inBaseExt;
        Arrays.fill(seen, 0L);
        if (!started) {
            seqOffset = seq - inBaseExt;
            tsOffset = 0;
            return;
        }
        seqOffset = lastOutSeqExt + 1 - inBaseExt;
        long elapsedTicks = ticks(nowNs - lastOutNs);
        long outTs = (lastOutTs + Math.max(1, elapsedTicks)) & TIMESTAMP_MASK;
        tsOffset = (outTs - ts) & TIMESTAMP_MASK;
    }

    /** Converts a duration to clock ticks without overflow for any duration up to ~292 years. */
    private long ticks(long durationNs) {
        if (durationNs <= 0) {
            return 0;
        }
        return (durationNs / NANOS_PER_SECOND) * clockRate
                + (durationNs % NANOS_PER_SECOND) * clockRate / NANOS_PER_SECOND;
    }

    private void advanceWindow(long newHighestExt) {
        long gap = newHighestExt - inHighestExt;
        if (gap >= WINDOW) {
            Arrays.fill(seen, 0L);
        } else {
            for (long s = inHighestExt + 1; s <= newHighestExt; s++) {
                int bit = (int) s & WINDOW_MASK;
                seen[bit >>> 6] &= ~(1L << bit);
            }
        }
        inHighestExt = newHighestExt;
    }

    private boolean isSeen(long ext) {
        int bit = (int) ext & WINDOW_MASK;
        return (seen[bit >>> 6] & (1L << bit)) != 0;
    }

    private void markSeen(long ext) {
        int bit = (int) ext & WINDOW_MASK;
        seen[bit >>> 6] |= 1L << bit;
    }
}
