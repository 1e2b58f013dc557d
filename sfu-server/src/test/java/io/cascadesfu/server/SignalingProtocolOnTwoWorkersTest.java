package io.cascadesfu.server;

/**
 * Every signaling test again on a node with two media workers and spread placement, so that the members of each
 * room sit on different workers and their tracks cross pipes.
 */
class SignalingProtocolOnTwoWorkersTest extends SignalingProtocolTest {
    @Override
    SfuConfig testConfig() {
        SfuConfig c = super.testConfig();
        c.media.workers = 2;
        c.media.placement.spread = true;
        return c;
    }
}
