package io.cascadesfu.core.rtcp;

/**
 * NTP timestamps as used by RTCP (RFC 3550 4): 64-bit fixed point, seconds since 1900-01-01 in the high 32 bits,
 * the fraction of a second in the low 32. Era overflow (2036) wraps naturally: only the low 64 bits are kept.
 * Pure functions, any thread.
 */
public final class NtpTime {

    /** Seconds from 1900-01-01 (NTP epoch) to 1970-01-01 (Unix epoch). */
    public static final long UNIX_EPOCH_OFFSET_SECONDS = 2_208_988_800L;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private NtpTime() {
    }

    /** NTP timestamp of a wall-clock time given in nanoseconds since the Unix epoch. */
    public static long fromUnixNanos(long unixNs) {
        long seconds = Math.floorDiv(unixNs, NANOS_PER_SECOND) + UNIX_EPOCH_OFFSET_SECONDS;
        long nanos = Math.floorMod(unixNs, NANOS_PER_SECOND);
        long fraction = (nanos << 32) / NANOS_PER_SECOND;
        return (seconds << 32) | fraction;
    }

    /** Inverse of {@link #fromUnixNanos}, exact to within a nanosecond (era 0 assumed). */
    public static long toUnixNanos(long ntp) {
        long seconds = (ntp >>> 32) - UNIX_EPOCH_OFFSET_SECONDS;
        long fraction = ntp & 0xFFFF_FFFFL;
        long nanos = (fraction * NANOS_PER_SECOND + (1L << 31)) >>> 32;
        return seconds * NANOS_PER_SECOND + nanos;
    }

    /** The middle 32 bits of an NTP timestamp: the LSR field of a report block (RFC 3550 6.4.1). */
    public static long middle32(long ntp) {
        return (ntp >>> 16) & 0xFFFF_FFFFL;
    }

    /**
     * NTP timestamp for a monotonic time, given one moment known on both clocks (e.g. {@code System.nanoTime()}
     * and the wall clock read together at start-up), so reports never jump when the wall clock is stepped.
     */
    public static long fromMonotonic(long nowNs, long baseMonotonicNs, long baseUnixNs) {
        return fromUnixNanos(baseUnixNs + (nowNs - baseMonotonicNs));
    }

    /**
     * A duration in the 16.16 fixed-point seconds of the DLSR field (units of 1/65536 s), clamped to 0..2^32-1.
     */
    public static long toShortFormat(long durationNs) {
        if (durationNs <= 0) {
            return 0;
        }
        long seconds = durationNs / NANOS_PER_SECOND;
        if (seconds >= (1L << 16)) {
            return 0xFFFF_FFFFL;
        }
        long nanos = durationNs % NANOS_PER_SECOND;
        return (seconds << 16) | ((nanos << 16) / NANOS_PER_SECOND);
    }

    /** Inverse of {@link #toShortFormat}: a 16.16 duration (DLSR, or an RTT from LSR/DLSR) in nanoseconds. */
    public static long shortFormatToNanos(long shortFormat) {
        long v = shortFormat & 0xFFFF_FFFFL;
        return (v >>> 16) * NANOS_PER_SECOND + ((v & 0xFFFF) * NANOS_PER_SECOND >>> 16);
    }
}
