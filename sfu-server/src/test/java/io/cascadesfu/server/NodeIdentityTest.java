package io.cascadesfu.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node started with a state directory ({@code SFU_STATE_DIR}) keeps its DTLS certificate there and comes back
 * after a restart with the same fingerprint, the identity its peers and clients see; without one it makes a new
 * certificate at each start.
 */
class NodeIdentityTest {
    @TempDir
    Path dir;

    private static String fingerprintOfANodeWith(SfuConfig config) {
        try (SfuNode node = new SfuNode(config)) {
            return node.engine().fingerprintSha256();
        }
    }

    @Test
    void aNodeWithAStateDirectoryKeepsItsFingerprintAcrossRestarts() {
        Path state = dir.resolve("node-state");
        SfuConfig config = SfuConfig.load(null, Map.of("SFU_STATE_DIR", state.toString()));
        assertEquals(state.toString(), config.dtls.stateDir);
        SfuConfig first = SignalingProtocolTest.devConfig();
        first.dtls.stateDir = config.dtls.stateDir;
        String before = fingerprintOfANodeWith(first);
        assertTrue(state.resolve("dtls-certificate.pem").toFile().isFile(), "kept in the state directory");
        SfuConfig second = SignalingProtocolTest.devConfig();
        second.dtls.stateDir = config.dtls.stateDir;
        assertEquals(before, fingerprintOfANodeWith(second), "the same identity after a restart");
        assertNotEquals(before, fingerprintOfANodeWith(SignalingProtocolTest.devConfig()),
            "without a state directory, a new certificate");
    }
}
