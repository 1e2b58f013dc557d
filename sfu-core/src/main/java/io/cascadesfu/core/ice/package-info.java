/**
 * ICE-lite (RFC 8445 section 2.5) with consent freshness (RFC 7675): the SFU never sends checks,
 * it answers the browser's, and picks the address the browser nominates.
 */
package io.cascadesfu.core.ice;
