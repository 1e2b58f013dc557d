package io.cascadesfu.core.bwe;

import io.netty.buffer.ByteBuf;

/**
 * Receive side of transport-wide congestion control: remembers when each packet of one transport arrived (by its
 * transport-wide sequence number, RTP header extension of draft-holmer-rmcat-transport-wide-cc-extensions-01 2)
 * and writes them back to the sender as {@link TransportCcFeedback} packets.
 *
 * <p>Arrival times live in a ring of {@link #CAPACITY} slots indexed by the extended (unwrapped) sequence number.
 * What is pending is every sequence number from the oldest not yet reported up to the highest that arrived; those
 * that did not arrive are reported as lost, and a packet that arrives after its slot was reported (or more than
 * {@link #CAPACITY} behind the highest) is dropped and counted as late. The caller ships feedback on its own timer
 * (every 50 ms or so) by calling {@link #writeFeedback} while {@link #hasPending}; nothing here schedules.
 *
 * <p>Threading: the transport's worker loop only. No allocation after construction.
 */
public final class TransportCcRecorder {

    /** Ring size: sequence numbers that can be pending at once. */
    public static final int CAPACITY = 1 << 12;
    private static final int MASK = CAPACITY - 1;
    /** Most bytes of one feedback packet (header, chunks, deltas, padding): well inside one datagram. */
    public static final int MAX_PACKET_BYTES = 1100;
    private static final int MAX_BODY_BYTES = MAX_PACKET_BYTES - TransportCcFeedback.CHUNKS_OFFSET;
    private static final long NOT_RECEIVED = Long.MIN_VALUE;
    private static final long DELTA_TICK_US = TransportCcFeedback.DELTA_TICK_US;
    private static final long REFERENCE_TICK_US = TransportCcFeedback.REFERENCE_TICK_US;

    private final long[] arrivalNs = new long[CAPACITY];
    // Scratch for one packet being written: its symbols, deltas (in 250 us ticks) and chunks.
    private final byte[] symbols = new byte[CAPACITY];
    private final short[] deltas = new short[CAPACITY];
    private final short[] chunks = new short[CAPACITY];

    private boolean started;
    /** Extended sequence number of the highest packet that arrived. */
    private long highest;
    /** Extended sequence number of the oldest not yet reported; pending if {@code <= highest}. */
    private long nextToReport;
    private long lastReferenceTicks;
    private int feedbackCount;
    private long duplicates;
    private long late;
    private long overrun;

    /**
     * Records the arrival of the packet with transport-wide sequence number {@code transportSeq16} at
     * {@code arrivalNs} (any monotonic clock of the receiver). Duplicates, and packets older than what was already
     * reported or than the ring holds, are ignored and counted.
     */
    public void onPacket(int transportSeq16, long arrivalNs) {
        int seq = transportSeq16 & 0xFFFF;
        if (!started) {
            started = true;
            highest = seq;
            nextToReport = seq;
            this.arrivalNs[seq & MASK] = arrivalNs;
            return;
        }
        long ext = highest + (short) (seq - (int) (highest & 0xFFFF));
        if (ext > highest) {
            // Slots between the old highest and this one are now pending as not received (the newest CAPACITY).
            long firstCleared = Math.max(highest + 1, ext - CAPACITY + 1);
            for (long s = firstCleared; s < ext; s++) {
                this.arrivalNs[(int) (s & MASK)] = NOT_RECEIVED;
            }
            long oldestKept = ext - CAPACITY + 1;
            if (nextToReport < oldestKept) {
                overrun += Math.min(oldestKept, highest + 1) - nextToReport; // pending ones that never get reported
                nextToReport = oldestKept;
            }
            highest = ext;
            this.arrivalNs[(int) (ext & MASK)] = arrivalNs;
        } else if (ext < nextToReport) {
            late++;
        } else {
            int slot = (int) (ext & MASK);
            if (this.arrivalNs[slot] != NOT_RECEIVED) {
                duplicates++;
            } else {
                this.arrivalNs[slot] = arrivalNs;
            }
        }
    }

    /** True if some arrival (or loss before it) has not been reported yet. */
    public boolean hasPending() {
        return started && nextToReport <= highest;
    }

    /**
     * Appends one feedback packet at {@code out.writerIndex()} (advancing it) covering pending statuses from the
     * oldest on, as many as fit in {@link #MAX_PACKET_BYTES}; a packet also ends before a receive delta that would
     * not fit 16 bits (arrivals more than ~8 s apart), so the next one starts with a new reference time. The caller
     * owns {@code out} (neither retained nor released here) and lets it grow or makes room for
     * {@link #MAX_PACKET_BYTES}.
     *
     * @return bytes written; 0 if nothing was pending
     */
    public int writeFeedback(ByteBuf out, long senderSsrc, long mediaSsrc) {
        if (!hasPending()) {
            return 0;
        }
        long base = nextToReport;
        int window = (int) (highest - base + 1); // 1..CAPACITY

        // The reference time: the 64 ms tick at or before the first arrival, so the first delta is small.
        long referenceTicks = lastReferenceTicks;
        for (int i = 0; i < window; i++) {
            long a = arrivalNs[(int) ((base + i) & MASK)];
            if (a != NOT_RECEIVED) {
                referenceTicks = Math.floorDiv(Math.floorDiv(a, 1000L), REFERENCE_TICK_US);
                break;
            }
        }
        long referenceUs = referenceTicks * REFERENCE_TICK_US;

        // Symbols and deltas, until a delta overflows or the deltas alone would exceed the budget.
        int n = 0;
        int minBytes = 0;
        long previousTick = 0;
        for (; n < window; n++) {
            long a = arrivalNs[(int) ((base + n) & MASK)];
            if (a == NOT_RECEIVED) {
                symbols[n] = TransportCcFeedback.SYMBOL_NOT_RECEIVED;
                continue;
            }
            // Ticks from the reference, rounded: errors do not add up along the packet.
            long tick = Math.floorDiv(Math.floorDiv(a, 1000L) - referenceUs + DELTA_TICK_US / 2, DELTA_TICK_US);
            long delta = tick - previousTick;
            int symbol;
            if (delta >= 0 && delta <= 0xFF) {
                symbol = TransportCcFeedback.SYMBOL_SMALL_DELTA;
            } else if (delta >= Short.MIN_VALUE && delta <= Short.MAX_VALUE) {
                symbol = TransportCcFeedback.SYMBOL_LARGE_DELTA;
            } else {
                break; // more than ~8 s from the previous arrival: the next packet starts here
            }
            minBytes += symbol;
            if (minBytes > MAX_BODY_BYTES) {
                break;
            }
            symbols[n] = (byte) symbol;
            deltas[n] = (short) delta;
            previousTick = tick;
        }
        // n >= 1: the first arrival is within one reference tick, and a run of losses costs one chunk.

        int chunkCount = 0;
        int bodyBytes = 0;
        int covered = 0;
        while (covered < n) {
            int remaining = n - covered;
            int symbol = symbols[covered];
            int run = 1;
            while (run < remaining && run < TransportCcFeedback.MAX_RUN_LENGTH && symbols[covered + run] == symbol) {
                run++;
            }
            int chunk;
            int take;
            int deltaBytes = 0;
            boolean runLength = run >= TransportCcFeedback.ONE_BIT_SYMBOLS || run == remaining;
            boolean oneBit = false;
            if (!runLength) {
                oneBit = !hasLargeDelta(covered, Math.min(TransportCcFeedback.ONE_BIT_SYMBOLS, remaining));
                runLength = !oneBit && run >= TransportCcFeedback.TWO_BIT_SYMBOLS;
            }
            if (runLength) {
                if (symbol != TransportCcFeedback.SYMBOL_NOT_RECEIVED) {
                    run = Math.min(run, (MAX_BODY_BYTES - bodyBytes - 2) / symbol);
                    if (run <= 0) {
                        break;
                    }
                }
                take = run;
                deltaBytes = run * symbol;
                chunk = (symbol << 13) | run;
            } else if (oneBit) {
                take = Math.min(TransportCcFeedback.ONE_BIT_SYMBOLS, remaining);
                chunk = TransportCcFeedback.CHUNK_VECTOR_BIT;
                for (int k = 0; k < take; k++) {
                    int s = symbols[covered + k];
                    chunk |= s << (13 - k);
                    deltaBytes += s;
                }
            } else {
                take = Math.min(TransportCcFeedback.TWO_BIT_SYMBOLS, remaining);
                chunk = TransportCcFeedback.CHUNK_VECTOR_BIT | TransportCcFeedback.CHUNK_TWO_BIT_BIT;
                for (int k = 0; k < take; k++) {
                    int s = symbols[covered + k];
                    chunk |= s << (12 - 2 * k);
                    deltaBytes += s;
                }
            }
            if (bodyBytes + 2 + deltaBytes > MAX_BODY_BYTES) {
                break;
            }
            chunks[chunkCount++] = (short) chunk;
            bodyBytes += 2 + deltaBytes;
            covered += take;
        }

        int unpadded = TransportCcFeedback.CHUNKS_OFFSET + bodyBytes;
        int length = (unpadded + 3) & ~3;
        out.writeByte(TransportCcFeedback.VERSION_BITS | TransportCcFeedback.FMT_TRANSPORT_CC);
        out.writeByte(TransportCcFeedback.PT_RTPFB);
        out.writeShort(length / 4 - 1);
        out.writeInt((int) senderSsrc);
        out.writeInt((int) mediaSsrc);
        out.writeShort((int) (base & 0xFFFF));
        out.writeShort(covered);
        out.writeMedium((int) (referenceTicks & 0xFFFFFF));
        out.writeByte(feedbackCount);
        for (int i = 0; i < chunkCount; i++) {
            out.writeShort(chunks[i]);
        }
        for (int i = 0; i < covered; i++) {
            if (symbols[i] == TransportCcFeedback.SYMBOL_SMALL_DELTA) {
                out.writeByte(deltas[i]);
            } else if (symbols[i] == TransportCcFeedback.SYMBOL_LARGE_DELTA) {
                out.writeShort(deltas[i]);
            }
        }
        out.writeZero(length - unpadded);

        feedbackCount = (feedbackCount + 1) & 0xFF;
        lastReferenceTicks = referenceTicks;
        nextToReport = base + covered;
        return length;
    }

    private boolean hasLargeDelta(int from, int count) {
        for (int k = 0; k < count; k++) {
            if (symbols[from + k] == TransportCcFeedback.SYMBOL_LARGE_DELTA) {
                return true;
            }
        }
        return false;
    }

    /** Packets that arrived twice (the second was ignored). */
    public long duplicates() {
        return duplicates;
    }

    /** Packets that arrived after their status was reported, or too far behind the highest; ignored. */
    public long late() {
        return late;
    }

    /** Pending statuses pushed out of the ring before they were reported (more than {@link #CAPACITY} behind). */
    public long overrun() {
        return overrun;
    }
}
