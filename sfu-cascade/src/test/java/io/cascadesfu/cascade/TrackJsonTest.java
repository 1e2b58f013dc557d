package io.cascadesfu.cascade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cascadesfu.core.ice.IceCredentials;
import org.junit.jupiter.api.Test;

class TrackJsonTest {
    private static ObjectNode with(String value) {
        return JsonNodeFactory.instance.objectNode().put("v", value);
    }

    @Test
    void iceCredentialsWithSlashAndPlusAreAccepted() {
        // ice-char includes '/' and '+': a relay offer whose random ufrag holds one must not be dropped.
        assertEquals("ab/+Cd09", TrackJson.ice(with("ab/+Cd09"), "v"));
        for (int i = 0; i < 200; i++) {
            IceCredentials c = IceCredentials.random();
            assertEquals(c.ufrag(), TrackJson.ice(with(c.ufrag()), "v"));
            assertEquals(c.pwd(), TrackJson.ice(with(c.pwd()), "v"));
        }
    }

    @Test
    void iceRejectsWhatIsNotAnIceString() {
        assertNull(TrackJson.ice(with("abc"), "v"), "under 4 characters");
        assertNull(TrackJson.ice(with("abcd:efg"), "v"), "':' separates ufrags in STUN USERNAME");
        assertNull(TrackJson.ice(with("abcd efg"), "v"));
        assertNull(TrackJson.ice(with("x".repeat(257)), "v"));
        assertNull(TrackJson.ice(JsonNodeFactory.instance.objectNode().put("v", 12345678), "v"));
        assertNull(TrackJson.ice(JsonNodeFactory.instance.objectNode(), "v"));
    }
}
