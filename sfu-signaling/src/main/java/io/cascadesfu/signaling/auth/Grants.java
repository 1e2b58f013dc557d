package io.cascadesfu.signaling.auth;

/** What a participant may do in its room. */
public record Grants(boolean publish, boolean subscribe) {
    public static final Grants ALL = new Grants(true, true);
}
