package io.cascadesfu.core.bwe;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;

/**
 * Send-side bandwidth estimation for one subscriber transport from transport-wide feedback, in the spirit of Google
 * Congestion Control (draft-ietf-rmcat-gcc-02): the estimate is the smaller of a delay-based and a loss-based one,
 * clamped to {@code [minBps, maxBps]}.
 *
 * <ul>
 *   <li>Delay-based: acknowledged packets are grouped into bursts ({@code GROUP_NS} of send time); the change of
 *   one-way delay from group to group is accumulated, smoothed, and its trend is the slope of a least-squares line
 *   over the last {@code TREND_WINDOW} groups. The trend, scaled, is compared with an adaptive threshold: over it
 *   for long enough is overuse, under its negative is underuse. An AIMD controller reacts: overuse cuts to
 *   {@code BETA} x the acknowledged bitrate; underuse holds; otherwise it increases, multiplicatively (8 %/s) while
 *   the link capacity is unknown, additively (about a packet per response time) near the capacity measured at the
 *   last cuts, never beyond 1.5 x what was acknowledged.</li>
 *   <li>Loss-based: over at least {@code LOSS_MIN_PACKETS} statuses, more than 10 % lost scales the estimate by
 *   {@code 1 - loss / 2} (at most once per 300 ms + round trip); under 2 % lets it grow by 8 %/s; in between holds.
 *   </li>
 *   <li>Acknowledged bitrate: bytes of packets reported received over the last {@code ACKED_WINDOW_US}, by their
 *   arrival times in the receiver's clock.</li>
 *   <li>Probing: {@link #wantsProbe} asks, at most every {@link #PROBE_INTERVAL_NS} and only while below
 *   {@code maxBps} and without recent overuse, for a short burst (30..100 ms) of sending at {@link #probeTargetBps}
 *   (twice the estimate; the caller adds padding or retransmissions). The rate the probe's packets arrived at raises
 *   the estimate if it is higher.</li>
 * </ul>
 *
 * <p>Feedback that does not parse, reports a sequence number that was not sent (or is older than the
 * {@link #HISTORY} kept), announces more statuses than that, or has absurd arrival times (spread over more than
 * {@code MAX_DELAY_SPREAD_NS} within the packet, or a jump of the one-way delay by more than
 * {@code MAX_DELAY_JUMP_NS}) changes nothing and is counted in {@link #ignoredFeedback}.
 *
 * <p>Use: {@link #onPacketSent} for every packet as it leaves (stamped with its transport-wide sequence number),
 * {@link #onFeedback} for every transport-cc packet the far end sends back, then read {@link #estimateBps}; a caller
 * that can pad asks {@link #wantsProbe} on its pacing tick. Times are the caller's monotonic clock in nanoseconds;
 * arrival times stay in the receiver's clock and only their differences are used.
 *
 * <p>Threading: the transport's worker loop only. The caller owns every buffer handed in (nothing is retained or
 * released). No allocation after construction.
 */
public final class SendSideEstimator {

    /** Sent packets remembered, by transport-wide sequence number. */
    public static final int HISTORY = 1 << 13;
    private static final int MASK = HISTORY - 1;

    static final long GROUP_NS = 5_000_000L;
    static final int TREND_WINDOW = 20;
    static final double TREND_SMOOTHING = 0.9;
    static final double TREND_GAIN = 4.0;
    static final int TREND_MAX_DELTAS = 60;
    static final double THRESHOLD_INITIAL_MS = 12.5;
    static final double THRESHOLD_MIN_MS = 6;
    static final double THRESHOLD_MAX_MS = 600;
    static final double THRESHOLD_UP = 0.0087;
    static final double THRESHOLD_DOWN = 0.039;
    static final double THRESHOLD_MAX_OFFSET_MS = 15;
    static final double OVERUSE_TIME_MS = 10;
    /** A gap between groups' arrivals this long starts the delay trend afresh. */
    static final long TREND_RESET_GAP_US = 2_000_000L;

    static final double BETA = 0.85;
    static final double MULTIPLICATIVE_PER_S = 1.08;
    static final long MIN_INCREASE_BPS = 1000;
    static final long MAX_UPDATE_INTERVAL_NS = 1_000_000_000L;

    static final double LOSS_HIGH = 0.10;
    static final double LOSS_LOW = 0.02;
    static final int LOSS_MIN_PACKETS = 20;
    static final long LOSS_MIN_INTERVAL_NS = 100_000_000L;
    static final long LOSS_MAX_INTERVAL_NS = 1_000_000_000L;
    static final long LOSS_DECREASE_INTERVAL_NS = 300_000_000L;

    static final long ACKED_BUCKET_US = 10_000;
    static final int ACKED_RING = 64;
    static final long ACKED_WINDOW_US = 500_000;
    static final long ACKED_MIN_SPAN_US = 100_000;

    /** A probe lasts long enough for about this many full-size packets at its rate, within the bounds below. */
    static final int PROBE_PACKETS = 6;
    static final int PROBE_PACKET_BYTES = 1200;
    static final long PROBE_MIN_DURATION_NS = 30_000_000L;
    static final long PROBE_MAX_DURATION_NS = 100_000_000L;
    public static final long PROBE_INTERVAL_NS = 2_000_000_000L;
    /** No probe this soon after an overuse. */
    public static final long PROBE_QUIET_NS = 2_000_000_000L;
    static final long PROBE_TIMEOUT_NS = 1_000_000_000L;
    /** An overuse seen on packets sent this soon after a probe ended is the probe's own queue: hold, not cut. */
    static final long PROBE_GUARD_NS = 500_000_000L;
    static final int PROBE_MIN_PACKETS = 5;

    static final long MAX_DELAY_SPREAD_NS = 5_000_000_000L;
    static final long MAX_DELAY_JUMP_NS = 10_000_000_000L;
    /** After this many feedbacks in a row with the same kind of delay jump, believe it (the receiver's clock moved). */
    static final int DELAY_JUMP_STREAK = 3;
    static final long DEFAULT_RTT_NS = 100_000_000L;

    private static final byte UNREPORTED = 0;
    private static final byte LOST = 1;
    private static final byte RECEIVED = 2;

    private static final int NORMAL = 0;
    private static final int OVERUSE = 1;
    private static final int UNDERUSE = 2;

    private static final int RATE_HOLD = 0;
    private static final int RATE_INCREASE = 1;

    private final long minBps;
    private final long maxBps;

    // Send history, indexed by extended sequence number & MASK.
    private final long[] sentSeq = new long[HISTORY];
    private final long[] sentNs = new long[HISTORY];
    private final int[] sentBytes = new int[HISTORY];
    private final byte[] sentState = new byte[HISTORY];
    private final int[] sentProbe = new int[HISTORY];
    private boolean anySent;
    private long sentHighest;

    // One feedback's statuses, collected by the visitor before anything is applied.
    private final int[] fbSlot = new int[HISTORY];
    private final boolean[] fbReceived = new boolean[HISTORY];
    private final long[] fbFromReferenceUs = new long[HISTORY];
    private int fbCount;
    private int fbGarbage;
    private final TransportCcFeedback.Visitor collector = this::collect;

    private boolean hasReference;
    private int lastReferenceTicks;
    private long referenceTicksUnwrapped;
    private boolean hasDelayBase;
    private long delayBaseNs;
    private int delayJumpStreak;
    private long ignoredFeedback;

    // Acknowledged bitrate: bytes by 10 ms bucket of arrival time.
    private final long[] ackedBucket = new long[ACKED_RING];
    private final long[] ackedBytes = new long[ACKED_RING];
    private boolean ackedStarted;
    private long ackedFirstUs;
    private long ackedNewestUs;
    private long ackedBps;

    // Packet groups and the delay trend.
    private boolean groupOpen;
    private long groupFirstSendNs;
    private long groupLastSendNs;
    private long groupArrivalUs;
    private boolean hasPreviousGroup;
    private long previousSendNs;
    private long previousArrivalUs;
    private final double[] trendX = new double[TREND_WINDOW];
    private final double[] trendY = new double[TREND_WINDOW];
    private int trendHead;
    private int trendSize;
    private int trendDeltas;
    private boolean hasTrendOrigin;
    private long trendOriginUs;
    private double accumulatedDelayMs;
    private double smoothedDelayMs;
    private double slope;
    private double previousTrend;
    private double thresholdMs = THRESHOLD_INITIAL_MS;
    private long thresholdUpdatedUs = Long.MIN_VALUE;
    private double overuseMs = -1;
    private int overuseCount;
    private int detectorState = NORMAL;
    private boolean overuseDetected;
    /** Send time of the last packet of the group on which overuse was last detected. */
    private long overuseSendNs;

    // Rate control.
    private long delayBps;
    private int rateState = RATE_INCREASE;
    private long lastRateUpdateNs;
    private boolean rateUpdated;
    private boolean decreased;
    private long lastDecreaseNs;
    private boolean overuseSeen;
    private long lastOveruseNs;
    private boolean hasCapacity;
    private double capacityBps;
    private double capacityDeviationBps;
    private double packetBytesAverage = 1200;

    private long lossBps;
    private int lossLost;
    private int lossReceived;
    private boolean lossWindowOpen;
    private long lossWindowStartNs;
    private long lastLossUpdateNs;
    private boolean lossUpdated;
    private boolean lossDecreased;
    private long lastLossDecreaseNs;
    private double lossFraction;

    private long rttNs = DEFAULT_RTT_NS;
    private boolean hasRtt;

    // The probe in flight (window open or results awaited).
    private int probeId;
    private boolean probeActive;
    private boolean probed;
    private long probeStartNs;
    private long probeEndNs;
    private long probeTargetBps;
    private long probeLastSeq;
    private int probeSentCount;
    private long probeSentBytes;
    private long probeFirstSendNs;
    private long probeLastSendNs;
    private int probeLastSentBytes;
    private int probeReceived;
    private int probeLost;
    private long probeReceivedBytes;
    private long probeFirstArrivalUs;
    private long probeLastArrivalUs;
    private int probeFirstArrivalBytes;
    private long probeResultBps;

    /**
     * @param startBps the estimate until feedback says otherwise
     * @param minBps   the estimate never goes below this
     * @param maxBps   nor above this
     */
    public SendSideEstimator(long startBps, long minBps, long maxBps) {
        if (minBps <= 0 || maxBps < minBps) {
            throw new IllegalArgumentException("bad bounds: " + minBps + ".." + maxBps);
        }
        this.minBps = minBps;
        this.maxBps = maxBps;
        this.delayBps = clamp(startBps);
        this.lossBps = maxBps;
        Arrays.fill(sentSeq, Long.MIN_VALUE);
        Arrays.fill(ackedBucket, Long.MIN_VALUE);
    }

    /**
     * Records a packet leaving with transport-wide sequence number {@code transportSeq16}, {@code sizeBytes} long
     * (what counts against the link: RTP header and payload, or the whole datagram; consistently), at
     * {@code sendNs} on the caller's monotonic clock (the one {@link #onFeedback} and {@link #wantsProbe} get).
     */
    public void onPacketSent(int transportSeq16, int sizeBytes, long sendNs) {
        int seq = transportSeq16 & 0xFFFF;
        long ext;
        if (!anySent) {
            anySent = true;
            ext = seq;
            sentHighest = ext;
        } else {
            ext = sentHighest + (short) (seq - (int) (sentHighest & 0xFFFF));
            if (ext > sentHighest) {
                sentHighest = ext;
            }
        }
        int slot = (int) (ext & MASK);
        sentSeq[slot] = ext;
        sentNs[slot] = sendNs;
        sentBytes[slot] = Math.max(0, sizeBytes);
        sentState[slot] = UNREPORTED;
        if (probeActive && sendNs >= probeStartNs && sendNs < probeEndNs) {
            sentProbe[slot] = probeId;
            if (probeSentCount == 0) {
                probeFirstSendNs = sendNs;
            }
            probeSentCount++;
            probeSentBytes += sentBytes[slot];
            probeLastSendNs = Math.max(probeLastSendNs, sendNs);
            probeLastSentBytes = sentBytes[slot];
            probeLastSeq = Math.max(probeLastSeq, ext);
        } else {
            sentProbe[slot] = 0;
        }
    }

    /**
     * Applies the transport-cc feedback packet at {@code off} ({@code len} bytes may belong to it, e.g.
     * {@code RtcpPacket.lengthBytes}), which arrived at {@code nowNs}. Anything unusable is counted in
     * {@link #ignoredFeedback} and changes nothing.
     */
    public void onFeedback(ByteBuf buf, int off, int len, long nowNs) {
        if (!anySent || !TransportCcFeedback.isTransportCc(buf, off)
                || TransportCcFeedback.statusCount(buf, off) > HISTORY) {
            ignoredFeedback++;
            return;
        }
        fbCount = 0;
        fbGarbage = 0;
        int n = TransportCcFeedback.parse(buf, off, len, collector);
        if (n < 0 || fbGarbage > 0) {
            ignoredFeedback++;
            return;
        }

        int ticks = TransportCcFeedback.referenceTicks(buf, off);
        long unwrapped = hasReference ? referenceTicksUnwrapped + ((ticks - lastReferenceTicks) << 8 >> 8) : ticks;
        long referenceUs = unwrapped * TransportCcFeedback.REFERENCE_TICK_US;

        // Sanity of the arrival times against the send times: one-way delay in an unknown clock offset.
        long minDelayNs = Long.MAX_VALUE;
        long maxDelayNs = Long.MIN_VALUE;
        for (int i = 0; i < n; i++) {
            int slot = fbSlot[i];
            if (slot >= 0 && fbReceived[i]) {
                long delayNs = (referenceUs + fbFromReferenceUs[i]) * 1000L - sentNs[slot];
                minDelayNs = Math.min(minDelayNs, delayNs);
                maxDelayNs = Math.max(maxDelayNs, delayNs);
            }
        }
        boolean anyReceived = minDelayNs != Long.MAX_VALUE;
        boolean resetDelay = false;
        if (anyReceived) {
            if (maxDelayNs - minDelayNs > MAX_DELAY_SPREAD_NS) {
                ignoredFeedback++;
                return;
            }
            if (hasDelayBase && Math.abs(minDelayNs - delayBaseNs) > MAX_DELAY_JUMP_NS) {
                if (++delayJumpStreak < DELAY_JUMP_STREAK) {
                    ignoredFeedback++;
                    return;
                }
                resetDelay = true;
            }
            delayJumpStreak = 0;
            hasDelayBase = true;
            delayBaseNs = minDelayNs;
        }
        hasReference = true;
        lastReferenceTicks = ticks;
        referenceTicksUnwrapped = unwrapped;
        if (resetDelay) {
            resetDelayState();
        }

        overuseDetected = false;
        long newestReceivedSendNs = Long.MIN_VALUE;
        long newestReportedSeq = Long.MIN_VALUE;
        for (int i = 0; i < n; i++) {
            int slot = fbSlot[i];
            if (slot < 0) {
                continue;
            }
            newestReportedSeq = Math.max(newestReportedSeq, sentSeq[slot]);
            byte state = sentState[slot];
            boolean probe = probeActive && sentProbe[slot] == probeId;
            if (fbReceived[i]) {
                if (state == RECEIVED) {
                    continue; // reported twice
                }
                sentState[slot] = RECEIVED;
                long arrivalUs = referenceUs + fbFromReferenceUs[i];
                int bytes = sentBytes[slot];
                addAcked(arrivalUs, bytes);
                packetBytesAverage += (bytes - packetBytesAverage) / 32;
                lossReceived++;
                if (probe) {
                    onProbeReceived(arrivalUs, bytes);
                }
                onDelayPacket(sentNs[slot], arrivalUs);
                newestReceivedSendNs = Math.max(newestReceivedSendNs, sentNs[slot]);
            } else if (state == UNREPORTED) {
                sentState[slot] = LOST;
                lossLost++;
                if (probe) {
                    probeLost++;
                }
            }
        }
        if (newestReceivedSendNs != Long.MIN_VALUE) {
            long sample = Math.max(0, nowNs - newestReceivedSendNs);
            rttNs = hasRtt ? (7 * rttNs + sample) / 8 : sample;
            hasRtt = true;
        }
        ackedBps = computeAckedBps();
        updateLossBased(nowNs);
        updateDelayBased(nowNs);
        if (probeActive && nowNs >= probeEndNs
                && (newestReportedSeq >= probeLastSeq || nowNs - probeEndNs > PROBE_TIMEOUT_NS)) {
            finishProbe();
        }
    }

    private void collect(int seq, boolean received, long fromReferenceUs) {
        int i = fbCount++; // fbCount <= statusCount <= HISTORY, checked before parsing
        long ext = sentHighest + (short) (seq - (int) (sentHighest & 0xFFFF));
        int slot = (int) (ext & MASK);
        if (ext > sentHighest) {
            fbGarbage++; // never sent
            fbSlot[i] = -1;
        } else if (ext <= sentHighest - HISTORY || sentSeq[slot] != ext) {
            // Forgotten or never recorded: harmless if reported lost, a lie if reported received.
            if (received) {
                fbGarbage++;
            }
            fbSlot[i] = -1;
        } else {
            fbSlot[i] = slot;
            fbReceived[i] = received;
            fbFromReferenceUs[i] = fromReferenceUs;
        }
    }

    // --- acknowledged bitrate -------------------------------------------------------------------------------------

    private void addAcked(long arrivalUs, int bytes) {
        long bucket = Math.floorDiv(arrivalUs, ACKED_BUCKET_US);
        if (!ackedStarted) {
            ackedStarted = true;
            ackedFirstUs = arrivalUs;
            ackedNewestUs = arrivalUs;
        } else if (arrivalUs > ackedNewestUs) {
            ackedNewestUs = arrivalUs;
        }
        long newestBucket = Math.floorDiv(ackedNewestUs, ACKED_BUCKET_US);
        if (bucket <= newestBucket - ACKED_RING) {
            return; // far older than the window
        }
        int slot = (int) (bucket & (ACKED_RING - 1));
        if (ackedBucket[slot] != bucket) {
            ackedBucket[slot] = bucket;
            ackedBytes[slot] = 0;
        }
        ackedBytes[slot] += bytes;
    }

    private long computeAckedBps() {
        if (!ackedStarted) {
            return 0;
        }
        long fromUs = Math.max(ackedNewestUs - ACKED_WINDOW_US, ackedFirstUs);
        long spanUs = ackedNewestUs - fromUs;
        if (spanUs < ACKED_MIN_SPAN_US) {
            return ackedBps; // too little to tell yet
        }
        long firstBucket = Math.floorDiv(fromUs, ACKED_BUCKET_US);
        long lastBucket = Math.floorDiv(ackedNewestUs, ACKED_BUCKET_US);
        long bytes = 0;
        for (long b = firstBucket; b <= lastBucket; b++) {
            int slot = (int) (b & (ACKED_RING - 1));
            if (ackedBucket[slot] == b) {
                bytes += ackedBytes[slot];
            }
        }
        // The bytes summed are those of whole buckets, the first one's since its start (or since the first arrival).
        long windowUs = ackedNewestUs - Math.max(firstBucket * ACKED_BUCKET_US, ackedFirstUs);
        return bytes * 8 * 1_000_000L / windowUs;
    }

    // --- delay-based ----------------------------------------------------------------------------------------------

    private void onDelayPacket(long sendNs, long arrivalUs) {
        if (!groupOpen) {
            openGroup(sendNs, arrivalUs);
            return;
        }
        if (sendNs < groupFirstSendNs) {
            return; // reported after a later group had started: reordered, not a delay sample
        }
        if (sendNs - groupFirstSendNs <= GROUP_NS) {
            groupLastSendNs = Math.max(groupLastSendNs, sendNs);
            groupArrivalUs = Math.max(groupArrivalUs, arrivalUs);
            return;
        }
        if (hasPreviousGroup) {
            onGroupDelta(groupLastSendNs - previousSendNs, groupArrivalUs - previousArrivalUs, groupArrivalUs,
                    groupLastSendNs);
        }
        hasPreviousGroup = true;
        previousSendNs = groupLastSendNs;
        previousArrivalUs = groupArrivalUs;
        openGroup(sendNs, arrivalUs);
    }

    private void openGroup(long sendNs, long arrivalUs) {
        groupOpen = true;
        groupFirstSendNs = sendNs;
        groupLastSendNs = sendNs;
        groupArrivalUs = arrivalUs;
    }

    private void onGroupDelta(long sendDeltaNs, long arrivalDeltaUs, long arrivalUs, long sendNs) {
        if (arrivalDeltaUs < 0) {
            return; // the later group overtook the earlier one
        }
        if (arrivalDeltaUs > TREND_RESET_GAP_US) {
            resetTrend();
            return;
        }
        if (!hasTrendOrigin) {
            hasTrendOrigin = true;
            trendOriginUs = arrivalUs;
        }
        double arrivalDeltaMs = arrivalDeltaUs / 1e3;
        double variationMs = arrivalDeltaMs - sendDeltaNs / 1e6;
        accumulatedDelayMs += variationMs;
        smoothedDelayMs = TREND_SMOOTHING * smoothedDelayMs + (1 - TREND_SMOOTHING) * accumulatedDelayMs;
        trendX[trendHead] = (arrivalUs - trendOriginUs) / 1e3;
        trendY[trendHead] = smoothedDelayMs;
        trendHead = (trendHead + 1) % TREND_WINDOW;
        if (trendSize < TREND_WINDOW) {
            trendSize++;
        }
        if (trendDeltas < TREND_MAX_DELTAS) {
            trendDeltas++;
        }
        if (trendSize == TREND_WINDOW) {
            slope = regressionSlope();
        }
        double trend = trendDeltas * slope * TREND_GAIN;
        detect(trend, arrivalDeltaMs, arrivalUs, sendNs);
    }

    /** Least-squares slope of smoothed delay (ms) over arrival time (ms) in the window; the last one if flat. */
    private double regressionSlope() {
        double meanX = 0;
        double meanY = 0;
        for (int i = 0; i < trendSize; i++) {
            meanX += trendX[i];
            meanY += trendY[i];
        }
        meanX /= trendSize;
        meanY /= trendSize;
        double num = 0;
        double den = 0;
        for (int i = 0; i < trendSize; i++) {
            double dx = trendX[i] - meanX;
            num += dx * (trendY[i] - meanY);
            den += dx * dx;
        }
        return den > 0 ? num / den : slope;
    }

    private void detect(double trend, double arrivalDeltaMs, long arrivalUs, long sendNs) {
        if (trend > thresholdMs) {
            if (overuseMs < 0) {
                overuseMs = arrivalDeltaMs / 2;
            } else {
                overuseMs += arrivalDeltaMs;
            }
            overuseCount++;
            if (overuseMs > OVERUSE_TIME_MS && overuseCount > 1 && trend >= previousTrend) {
                overuseMs = 0;
                overuseCount = 0;
                detectorState = OVERUSE;
                overuseDetected = true;
                overuseSendNs = sendNs;
            }
        } else if (trend < -thresholdMs) {
            overuseMs = -1;
            overuseCount = 0;
            detectorState = UNDERUSE;
        } else {
            overuseMs = -1;
            overuseCount = 0;
            detectorState = NORMAL;
        }
        previousTrend = trend;
        adaptThreshold(trend, arrivalUs);
    }

    /** The threshold follows |trend|: up slowly, down faster; spikes far above it are not followed. */
    private void adaptThreshold(double trend, long arrivalUs) {
        if (thresholdUpdatedUs == Long.MIN_VALUE) {
            thresholdUpdatedUs = arrivalUs;
        }
        double magnitude = Math.abs(trend);
        if (magnitude > thresholdMs + THRESHOLD_MAX_OFFSET_MS) {
            thresholdUpdatedUs = arrivalUs;
            return;
        }
        double k = magnitude < thresholdMs ? THRESHOLD_DOWN : THRESHOLD_UP;
        double dtMs = Math.min(Math.max(arrivalUs - thresholdUpdatedUs, 0) / 1e3, 100);
        thresholdMs += k * (magnitude - thresholdMs) * dtMs;
        thresholdMs = Math.max(THRESHOLD_MIN_MS, Math.min(THRESHOLD_MAX_MS, thresholdMs));
        thresholdUpdatedUs = arrivalUs;
    }

    private void resetTrend() {
        trendHead = 0;
        trendSize = 0;
        trendDeltas = 0;
        hasTrendOrigin = false;
        accumulatedDelayMs = 0;
        smoothedDelayMs = 0;
        slope = 0;
        previousTrend = 0;
        overuseMs = -1;
        overuseCount = 0;
        detectorState = NORMAL;
    }

    private void resetDelayState() {
        resetTrend();
        groupOpen = false;
        hasPreviousGroup = false;
        ackedStarted = false;
        Arrays.fill(ackedBucket, Long.MIN_VALUE);
        thresholdUpdatedUs = Long.MIN_VALUE;
    }

    private void updateDelayBased(long nowNs) {
        long dtNs = rateUpdated ? Math.min(Math.max(nowNs - lastRateUpdateNs, 0), MAX_UPDATE_INTERVAL_NS) : 0;
        rateUpdated = true;
        lastRateUpdateNs = nowNs;
        if (overuseDetected && probed && overuseSendNs >= probeStartNs && overuseSendNs < probeEndNs + PROBE_GUARD_NS
                && delayBps < probeTargetBps) {
            // The probe sent above the estimate and built a queue; the estimate itself may be fine.
            overuseSeen = true;
            lastOveruseNs = nowNs;
            rateState = RATE_HOLD;
        } else if (overuseDetected) {
            overuseSeen = true;
            lastOveruseNs = nowNs;
            long interval = Math.max(50_000_000L, Math.min(rttNs, 300_000_000L));
            if (!decreased || nowNs - lastDecreaseNs >= interval) {
                long base = ackedBps > 0 ? ackedBps : delayBps;
                long target = (long) (BETA * base);
                if (target < delayBps) {
                    delayBps = target;
                }
                if (ackedBps > 0) {
                    onCapacitySample(ackedBps);
                }
                decreased = true;
                lastDecreaseNs = nowNs;
            }
            rateState = RATE_HOLD;
        } else if (detectorState == OVERUSE || detectorState == UNDERUSE) {
            rateState = RATE_HOLD; // still over (cut already), or draining a queue
        } else if (rateState == RATE_HOLD) {
            rateState = RATE_INCREASE;
        } else {
            increase(dtNs);
        }
        delayBps = clamp(delayBps);
    }

    private void increase(long dtNs) {
        if (hasCapacity && ackedBps > capacityBps + 3 * capacityDeviation()) {
            hasCapacity = false; // the link carries more than it did at the last cuts
        }
        double dtS = dtNs / 1e9;
        long step;
        if (hasCapacity) {
            double responseS = (rttNs + 100_000_000L) / 1e9;
            step = (long) Math.max(MIN_INCREASE_BPS * dtS, packetBytesAverage * 8 / responseS * dtS);
        } else {
            step = (long) Math.max(MIN_INCREASE_BPS, delayBps * (Math.pow(MULTIPLICATIVE_PER_S, dtS) - 1));
        }
        long next = delayBps + step;
        if (ackedBps > 0) {
            long cap = (long) (1.5 * ackedBps) + 10_000;
            if (next > cap) {
                next = Math.max(cap, delayBps);
            }
        }
        delayBps = next;
    }

    private double capacityDeviation() {
        return Math.max(capacityDeviationBps, 0.05 * capacityBps);
    }

    /** Acknowledged bitrate at an overuse: the link's capacity as last seen. */
    private void onCapacitySample(double bps) {
        if (!hasCapacity || Math.abs(bps - capacityBps) > 3 * capacityDeviation()) {
            hasCapacity = true;
            capacityBps = bps;
            capacityDeviationBps = 0.1 * bps;
            return;
        }
        capacityBps += 0.05 * (bps - capacityBps);
        capacityDeviationBps += 0.05 * (Math.abs(bps - capacityBps) - capacityDeviationBps);
    }

    // --- loss-based -----------------------------------------------------------------------------------------------

    private void updateLossBased(long nowNs) {
        if (!lossWindowOpen) {
            lossWindowOpen = true;
            lossWindowStartNs = nowNs;
        }
        int total = lossLost + lossReceived;
        long elapsed = nowNs - lossWindowStartNs;
        if (total == 0 || (total < LOSS_MIN_PACKETS || elapsed < LOSS_MIN_INTERVAL_NS) && elapsed < LOSS_MAX_INTERVAL_NS) {
            return;
        }
        lossFraction = (double) lossLost / total;
        lossLost = 0;
        lossReceived = 0;
        lossWindowStartNs = nowNs;
        long dtNs = lossUpdated ? Math.min(Math.max(nowNs - lastLossUpdateNs, 0), MAX_UPDATE_INTERVAL_NS) : 0;
        lossUpdated = true;
        lastLossUpdateNs = nowNs;
        if (lossFraction > LOSS_HIGH) {
            if (!lossDecreased
                    || nowNs - lastLossDecreaseNs >= LOSS_DECREASE_INTERVAL_NS + Math.min(rttNs, MAX_UPDATE_INTERVAL_NS)) {
                long base = Math.min(lossBps, Math.min(delayBps, maxBps));
                lossBps = (long) (base * (1 - 0.5 * lossFraction));
                lossDecreased = true;
                lastLossDecreaseNs = nowNs;
            }
        } else if (lossFraction < LOSS_LOW) {
            double grown = lossBps * Math.pow(MULTIPLICATIVE_PER_S, dtNs / 1e9) + MIN_INCREASE_BPS;
            lossBps = (long) Math.min(grown, maxBps);
        }
        lossBps = clamp(lossBps);
    }

    // --- probing --------------------------------------------------------------------------------------------------

    /**
     * True if a probe should start now: then, from {@code nowNs} until {@link #probeEndNs} (30..100 ms), the caller sends
     * (media plus padding or retransmissions) at about {@link #probeTargetBps}, reporting every packet to
     * {@link #onPacketSent} as usual. Returns true at most once per probe.
     */
    public boolean wantsProbe(long nowNs) {
        if (probeActive && nowNs - probeEndNs > PROBE_TIMEOUT_NS) {
            finishProbe(); // its feedback never came (all of it)
        }
        if (probeActive || !anySent) {
            return false;
        }
        long estimate = estimateBps();
        if (estimate >= maxBps
                || probed && nowNs - probeStartNs < PROBE_INTERVAL_NS
                || overuseSeen && nowNs - lastOveruseNs < PROBE_QUIET_NS) {
            return false;
        }
        probeId = probeId == Integer.MAX_VALUE ? 1 : probeId + 1;
        probeActive = true;
        probed = true;
        probeStartNs = nowNs;
        probeTargetBps = Math.min(2 * estimate, maxBps);
        long durationNs = PROBE_PACKETS * PROBE_PACKET_BYTES * 8 * 1_000_000_000L / probeTargetBps;
        probeEndNs = nowNs + Math.max(PROBE_MIN_DURATION_NS, Math.min(PROBE_MAX_DURATION_NS, durationNs));
        probeLastSeq = Long.MIN_VALUE;
        probeSentCount = 0;
        probeSentBytes = 0;
        probeLastSendNs = Long.MIN_VALUE;
        probeReceived = 0;
        probeLost = 0;
        probeReceivedBytes = 0;
        return true;
    }

    /** The rate the current probe asks for; 0 when none is in progress. */
    public long probeTargetBps() {
        return probeActive ? probeTargetBps : 0;
    }

    /** Until when (the clock of {@link #wantsProbe}) the current probe sends; meaningful while one is in progress. */
    public long probeEndNs() {
        return probeEndNs;
    }

    private void onProbeReceived(long arrivalUs, int bytes) {
        if (probeReceived == 0) {
            probeFirstArrivalUs = arrivalUs;
            probeLastArrivalUs = arrivalUs;
            probeFirstArrivalBytes = bytes;
        } else if (arrivalUs < probeFirstArrivalUs) {
            probeFirstArrivalUs = arrivalUs;
            probeFirstArrivalBytes = bytes;
        } else if (arrivalUs > probeLastArrivalUs) {
            probeLastArrivalUs = arrivalUs;
        }
        probeReceived++;
        probeReceivedBytes += bytes;
    }

    private void finishProbe() {
        probeActive = false;
        int total = probeReceived + probeLost;
        if (probeReceived < PROBE_MIN_PACKETS || probeLost * 10 > total
                || probeLastArrivalUs <= probeFirstArrivalUs || probeLastSendNs <= probeFirstSendNs) {
            return; // too little, or too lossy, to say anything
        }
        double sentBps = (probeSentBytes - probeLastSentBytes) * 8e9 / (probeLastSendNs - probeFirstSendNs);
        double receivedBps = (probeReceivedBytes - probeFirstArrivalBytes) * 8e6
                / (probeLastArrivalUs - probeFirstArrivalUs);
        double result;
        if (receivedBps < 0.9 * sentBps) {
            // The link could not carry it: it carried receivedBps, and a queue built up.
            onCapacitySample(receivedBps);
            result = BETA * receivedBps;
        } else {
            result = Math.min(sentBps, receivedBps);
            if (hasCapacity && result > capacityBps + 3 * capacityDeviation()) {
                hasCapacity = false;
            }
        }
        probeResultBps = (long) result;
        if (probeResultBps > delayBps) {
            delayBps = clamp(probeResultBps);
        }
        if (probeResultBps > lossBps && lossFraction < LOSS_LOW) {
            lossBps = clamp(probeResultBps); // the path carried it without loss
        }
    }

    // --- results --------------------------------------------------------------------------------------------------

    private long clamp(long bps) {
        return Math.max(minBps, Math.min(maxBps, bps));
    }

    /** The bitrate the transport may send at: min(delay-based, loss-based) within the bounds. */
    public long estimateBps() {
        return clamp(Math.min(delayBps, lossBps));
    }

    /** The delay-based estimate alone. */
    public long delayBasedBps() {
        return delayBps;
    }

    /** The loss-based estimate alone ({@code maxBps} until loss was seen). */
    public long lossBasedBps() {
        return lossBps;
    }

    /** Fraction of packets reported lost over the last loss window (at least {@code LOSS_MIN_PACKETS} statuses). */
    public double lossFraction() {
        return lossFraction;
    }

    /** Bitrate acknowledged as received over the last {@code ACKED_WINDOW_US}; 0 until known. */
    public long ackedBps() {
        return ackedBps;
    }

    /**
     * Smoothed time from sending the newest packet a feedback reports received to that feedback's arrival: the round
     * trip plus queueing plus the receiver's feedback interval; {@code DEFAULT_RTT_NS} until measured.
     */
    public long rttHintNs() {
        return rttNs;
    }

    /** Rate the last conclusive probe measured; 0 if none. */
    public long lastProbeResultBps() {
        return probeResultBps;
    }

    /** Feedback packets ignored as malformed or implausible. */
    public long ignoredFeedback() {
        return ignoredFeedback;
    }
}
