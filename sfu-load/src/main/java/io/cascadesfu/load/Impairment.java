package io.cascadesfu.load;

import java.util.Locale;

/**
 * What an {@link ImpairmentRelay} does to one direction of traffic: a fixed delay, a random extra delay
 * (jitter), random loss and an optional rate limit.
 *
 * <p>Text form (the {@code --impair} options): comma-separated {@code key=value} pairs, e.g.
 * {@code delay=40ms,jitter=5ms,loss=2%,rate=2mbit}. Durations take {@code us}, {@code ms} (default) or
 * {@code s}; loss is a percentage (the {@code %} is optional); rate takes {@code kbit}, {@code mbit} or plain
 * bits per second, 0 for unlimited.
 *
 * @param delayUs   fixed one-way delay, microseconds
 * @param jitterUs  each packet gets an extra delay drawn uniformly from {@code [-jitterUs, +jitterUs]}
 *                  (never below zero in total); packets of one flow are never reordered
 * @param lossPercent probability of dropping a packet, 0..100
 * @param rateBps   bottleneck rate in bits per second, 0 for unlimited; packets queue behind it and are
 *                  tail-dropped once the queue holds more than {@link #MAX_QUEUE_DELAY_US} of traffic
 */
public record Impairment(long delayUs, long jitterUs, double lossPercent, long rateBps) {
    public static final Impairment NONE = new Impairment(0, 0, 0, 0);
    /** Queueing delay behind the rate limit beyond which packets are dropped (a router's buffer). */
    public static final long MAX_QUEUE_DELAY_US = 200_000;

    public Impairment {
        if (delayUs < 0 || jitterUs < 0 || rateBps < 0 || !(lossPercent >= 0 && lossPercent <= 100)) {
            throw new IllegalArgumentException("impairment out of range: delay, jitter and rate must be >= 0,"
                    + " loss within 0..100%");
        }
    }

    public boolean isNone() {
        return delayUs == 0 && jitterUs == 0 && lossPercent == 0 && rateBps == 0;
    }

    /**
     * Parses the text form; an empty string is {@link #NONE}.
     *
     * @throws IllegalArgumentException naming the bad part
     */
    public static Impairment parse(String text) {
        long delayUs = 0;
        long jitterUs = 0;
        double loss = 0;
        long rate = 0;
        if (text == null || text.isBlank()) {
            return NONE;
        }
        for (String part : text.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected key=value in impairment, got '" + p + "'");
            }
            String key = p.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            String value = p.substring(eq + 1).trim().toLowerCase(Locale.ROOT);
            switch (key) {
                case "delay" -> delayUs = parseDurationUs(value);
                case "jitter" -> jitterUs = parseDurationUs(value);
                case "loss" -> loss = parseNumber(value.endsWith("%") ? value.substring(0, value.length() - 1) : value);
                case "rate" -> rate = parseRate(value);
                default -> throw new IllegalArgumentException("unknown impairment '" + key
                        + "' (expected delay, jitter, loss or rate)");
            }
        }
        return new Impairment(delayUs, jitterUs, loss, rate);
    }

    /** {@code 40ms}, {@code 1.5s}, {@code 500us}; a bare number is milliseconds. */
    static long parseDurationUs(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.endsWith("us")) {
            return Math.round(parseNumber(v.substring(0, v.length() - 2)));
        }
        if (v.endsWith("ms")) {
            return Math.round(parseNumber(v.substring(0, v.length() - 2)) * 1000);
        }
        if (v.endsWith("s")) {
            return Math.round(parseNumber(v.substring(0, v.length() - 1)) * 1_000_000);
        }
        return Math.round(parseNumber(v) * 1000);
    }

    private static long parseRate(String value) {
        if (value.endsWith("mbit")) {
            return Math.round(parseNumber(value.substring(0, value.length() - 4)) * 1_000_000);
        }
        if (value.endsWith("kbit")) {
            return Math.round(parseNumber(value.substring(0, value.length() - 4)) * 1000);
        }
        return Math.round(parseNumber(value));
    }

    private static double parseNumber(String s) {
        try {
            double d = Double.parseDouble(s.trim());
            if (d < 0 || Double.isNaN(d) || Double.isInfinite(d)) {
                throw new IllegalArgumentException("negative or invalid number '" + s + "'");
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: '" + s + "'");
        }
    }

    @Override
    public String toString() {
        if (isNone()) {
            return "none";
        }
        StringBuilder b = new StringBuilder();
        b.append("delay=").append(delayUs / 1000.0).append("ms");
        if (jitterUs > 0) {
            b.append(",jitter=").append(jitterUs / 1000.0).append("ms");
        }
        b.append(",loss=").append(lossPercent).append('%');
        if (rateBps > 0) {
            b.append(",rate=").append(rateBps / 1000).append("kbit");
        }
        return b.toString();
    }
}
