package io.cascadesfu.core.ice;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IceCredentialsTest {

    private static final String ICE_CHAR_PATTERN = "[A-Za-z0-9+/]*";

    @Test
    void randomCredentialsUseIceCharsAndRfc8839Lengths() {
        IceCredentials a = IceCredentials.random();
        IceCredentials b = IceCredentials.random();
        assertEquals(8, a.ufrag().length());
        assertEquals(24, a.pwd().length());
        assertTrue(a.ufrag().matches(ICE_CHAR_PATTERN));
        assertTrue(a.pwd().matches(ICE_CHAR_PATTERN));
        assertNotEquals(a, b);
    }

    @Test
    void toStringDoesNotLeakPassword() {
        IceCredentials c = IceCredentials.random();
        assertFalse(c.toString().contains(c.pwd()));
        assertTrue(c.toString().contains(c.ufrag()));
    }
}
