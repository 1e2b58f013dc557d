/**
 * STUN (RFC 5389) as used by ICE: a flyweight parser ({@link io.cascadesfu.core.stun.StunMessage}),
 * MESSAGE-INTEGRITY / FINGERPRINT checks and writers for the few messages an ICE-lite SFU sends
 * ({@link io.cascadesfu.core.stun.Stun}). Nothing here keeps a reference to a packet buffer.
 */
package io.cascadesfu.core.stun;
