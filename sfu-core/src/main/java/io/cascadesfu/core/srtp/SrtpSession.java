package io.cascadesfu.core.srtp;

import java.security.GeneralSecurityException;

import io.cascadesfu.core.dtls.SrtpKeys;
import io.cascadesfu.core.dtls.SrtpProfile;
import io.netty.buffer.ByteBuf;
import io.netty.util.collection.IntObjectHashMap;
import org.jitsi.srtp.SrtcpCryptoContext;
import org.jitsi.srtp.SrtpContextFactory;
import org.jitsi.srtp.SrtpCryptoContext;
import org.jitsi.srtp.SrtpErrorStatus;
import org.jitsi.srtp.SrtpPolicy;

/**
 * SRTP/SRTCP (RFC 3711, RFC 7714) for one transport, via jitsi-srtp with the SunJCE AES.
 *
 * <p>Threads: owned by the transport's event loop; not thread-safe.
 *
 * <p>Buffers: every method works in place over {@code readerIndex..writerIndex} of a buffer the caller owns
 * (nothing is retained or released). Heap buffers are processed on their backing array; direct ones are
 * copied through one scratch array of this session. Once an SSRC's context exists no object is made per
 * packet.
 *
 * <p>Contexts are derived lazily per SSRC and direction: at most {@link #MAX_RECEIVE_SSRCS} per packet kind
 * for what the peer sends, and {@link #MAX_SEND_SSRCS} for our own streams (one per consumer on this
 * transport; {@link #forgetSendSsrc} drops a stream's contexts when its consumer goes). A receive context is
 * kept only once a packet authenticated with it, so garbage SSRCs neither fill the table nor lock out real
 * streams. Receive replay protection is on; the send side does not check for
 * replay, so that a packet may be sent again (NACK retransmission without RTX).
 */
public final class SrtpSession {

    /** Bytes a protectRtp call may append: the authentication tag (16 for GCM, 10 for AES-CM). */
    public static final int MAX_RTP_OVERHEAD = 16;
    /** Bytes a protectRtcp call may append: the tag and the 4-byte E flag + SRTCP index. */
    public static final int MAX_RTCP_OVERHEAD = 20;
    /** Cap on the peer's SSRC contexts per packet kind (a relay link carries a room's worth of streams). */
    public static final int MAX_RECEIVE_SSRCS = 256;
    /** Cap on our own SSRC contexts per packet kind: a subscriber of a large audio room has hundreds. */
    public static final int MAX_SEND_SSRCS = 4096;

    private static final int RTP_HEADER_LENGTH = 12;
    private static final int RTP_OFFSET_SSRC = 8;
    private static final int RTCP_HEADER_LENGTH = 8;
    private static final int RTCP_OFFSET_SSRC = 4;
    private static final int SRTCP_INDEX_LENGTH = 4;
    private static final int RTP_VERSION = 2;
    private static final int INITIAL_SCRATCH_LENGTH = 1500 + MAX_RTCP_OVERHEAD;

    private final SrtpProfile profile;
    private final SrtpContextFactory sendFactory;
    private final SrtpContextFactory receiveFactory;
    private final IntObjectHashMap<SrtpCryptoContext> rtpSend = new IntObjectHashMap<>();
    private final IntObjectHashMap<SrtpCryptoContext> rtpReceive = new IntObjectHashMap<>();
    private final IntObjectHashMap<SrtcpCryptoContext> rtcpSend = new IntObjectHashMap<>();
    private final IntObjectHashMap<SrtcpCryptoContext> rtcpReceive = new IntObjectHashMap<>();
    private final PacketBytes view = new PacketBytes();
    private byte[] scratch = new byte[INITIAL_SCRATCH_LENGTH];

    public SrtpSession(SrtpKeys keys) {
        this.profile = keys.profile();
        this.sendFactory = new SrtpContextFactory(true, keys.localKey().clone(), keys.localSalt().clone(),
            policy(profile, false), policy(profile, false), SrtpProvider.logger());
        this.receiveFactory = new SrtpContextFactory(false, keys.remoteKey().clone(), keys.remoteSalt().clone(),
            policy(profile, true), policy(profile, true), SrtpProvider.logger());
    }

    private static SrtpPolicy policy(SrtpProfile profile, boolean receive) {
        SrtpPolicy policy = switch (profile) {
            case AEAD_AES_128_GCM -> new SrtpPolicy(SrtpPolicy.AESGCM_ENCRYPTION, profile.keyLength(),
                SrtpPolicy.NULL_AUTHENTICATION, 0, profile.authTagLength(), profile.saltLength());
            case AES_CM_128_HMAC_SHA1_80 -> new SrtpPolicy(SrtpPolicy.AESCM_ENCRYPTION, profile.keyLength(),
                SrtpPolicy.HMACSHA1_AUTHENTICATION, 20, profile.authTagLength(), profile.saltLength());
        };
        policy.setReceiveReplayEnabled(receive);
        policy.setSendReplayEnabled(false);
        return policy;
    }

    public SrtpProfile profile() {
        return profile;
    }

    /**
     * Verifies and decrypts an SRTP packet in place. On OK the writerIndex moves back by the tag; on any other
     * result the indices are unchanged (and for a direct buffer, the bytes too).
     */
    public SrtpResult unprotectRtp(ByteBuf packet) {
        int length = packet.readableBytes();
        int start = packet.readerIndex();
        if (length < RTP_HEADER_LENGTH || (packet.getUnsignedByte(start) >> 6) != RTP_VERSION) {
            return SrtpResult.INVALID;
        }
        int ssrc = packet.getInt(start + RTP_OFFSET_SSRC);
        SrtpCryptoContext context = rtpReceive.get(ssrc);
        boolean fresh = context == null;
        try {
            if (fresh) {
                if (rtpReceive.size() >= MAX_RECEIVE_SSRCS) {
                    return SrtpResult.INVALID;
                }
                context = receiveFactory.deriveContext(ssrc, 0);
            }
            wrap(packet, start, length, 0);
            SrtpResult result = map(context.reverseTransformPacket(view, false));
            if (result == SrtpResult.OK) {
                finish(packet, start);
                if (fresh) {
                    rtpReceive.put(ssrc, context);
                }
            }
            return result;
        } catch (GeneralSecurityException | RuntimeException e) {
            return SrtpResult.FAIL;
        } finally {
            view.clear();
        }
    }

    /** Verifies and decrypts an SRTCP packet in place; same contract as {@link #unprotectRtp}. */
    public SrtpResult unprotectRtcp(ByteBuf packet) {
        int length = packet.readableBytes();
        int start = packet.readerIndex();
        if (length < RTCP_HEADER_LENGTH + SRTCP_INDEX_LENGTH + profile.authTagLength()
            || (packet.getUnsignedByte(start) >> 6) != RTP_VERSION) {
            return SrtpResult.INVALID;
        }
        int ssrc = packet.getInt(start + RTCP_OFFSET_SSRC);
        SrtcpCryptoContext context = rtcpReceive.get(ssrc);
        boolean fresh = context == null;
        try {
            if (fresh) {
                if (rtcpReceive.size() >= MAX_RECEIVE_SSRCS) {
                    return SrtpResult.INVALID;
                }
                context = receiveFactory.deriveControlContext(ssrc);
            }
            wrap(packet, start, length, 0);
            SrtpResult result = map(context.reverseTransformPacket(view));
            if (result == SrtpResult.OK) {
                finish(packet, start);
                if (fresh) {
                    rtcpReceive.put(ssrc, context);
                }
            }
            return result;
        } catch (GeneralSecurityException | RuntimeException e) {
            return SrtpResult.FAIL;
        } finally {
            view.clear();
        }
    }

    /**
     * Encrypts and authenticates an RTP packet in place; on OK the writerIndex grows by the tag. The caller
     * should leave {@link #MAX_RTP_OVERHEAD} writable bytes; if it did not, the buffer is grown here.
     */
    public SrtpResult protectRtp(ByteBuf packet) {
        int length = packet.readableBytes();
        int start = packet.readerIndex();
        if (length < RTP_HEADER_LENGTH) {
            return SrtpResult.INVALID;
        }
        int ssrc = packet.getInt(start + RTP_OFFSET_SSRC);
        try {
            SrtpCryptoContext context = rtpSend.get(ssrc);
            if (context == null) {
                if (rtpSend.size() >= MAX_SEND_SSRCS) {
                    return SrtpResult.INVALID;
                }
                context = sendFactory.deriveContext(ssrc, 0);
                rtpSend.put(ssrc, context);
            }
            packet.ensureWritable(MAX_RTP_OVERHEAD);
            wrap(packet, start, length, MAX_RTP_OVERHEAD);
            SrtpResult result = map(context.transformPacket(view));
            if (result == SrtpResult.OK) {
                finish(packet, start);
            }
            return result;
        } catch (GeneralSecurityException | RuntimeException e) {
            return SrtpResult.FAIL;
        } finally {
            view.clear();
        }
    }

    /** Drops the send contexts of one of our streams that ended (its consumer closed). */
    public void forgetSendSsrc(long ssrc) {
        rtpSend.remove((int) ssrc);
        rtcpSend.remove((int) ssrc);
    }

    /** Encrypts and authenticates an RTCP packet in place, appending E|index and the tag. */
    public SrtpResult protectRtcp(ByteBuf packet) {
        int length = packet.readableBytes();
        int start = packet.readerIndex();
        if (length < RTCP_HEADER_LENGTH) {
            return SrtpResult.INVALID;
        }
        int ssrc = packet.getInt(start + RTCP_OFFSET_SSRC);
        try {
            SrtcpCryptoContext context = rtcpSend.get(ssrc);
            if (context == null) {
                if (rtcpSend.size() >= MAX_SEND_SSRCS) {
                    return SrtpResult.INVALID;
                }
                context = sendFactory.deriveControlContext(ssrc);
                rtcpSend.put(ssrc, context);
            }
            packet.ensureWritable(MAX_RTCP_OVERHEAD);
            wrap(packet, start, length, MAX_RTCP_OVERHEAD);
            SrtpResult result = map(context.transformPacket(view));
            if (result == SrtpResult.OK) {
                finish(packet, start);
            }
            return result;
        } catch (GeneralSecurityException | RuntimeException e) {
            return SrtpResult.FAIL;
        } finally {
            view.clear();
        }
    }

    /** Drops every context and the factories' key material. The session must not be used afterwards. */
    public void close() {
        rtpSend.clear();
        rtpReceive.clear();
        rtcpSend.clear();
        rtcpReceive.clear();
        sendFactory.close();
        receiveFactory.close();
    }

    /** Points {@link #view} at the packet: its backing array, or the scratch array holding a copy. */
    private void wrap(ByteBuf packet, int start, int length, int room) {
        if (packet.hasArray()) {
            int arrayStart = packet.arrayOffset() + start;
            view.wrap(packet.array(), arrayStart, length, packet.arrayOffset() + packet.capacity());
        } else {
            if (scratch.length < length + room) {
                scratch = new byte[length + MAX_RTCP_OVERHEAD];
            }
            packet.getBytes(start, scratch, 0, length);
            view.wrap(scratch, 0, length, scratch.length);
        }
    }

    /** After OK: copies back from the scratch array if needed and sets the new writerIndex. */
    private void finish(ByteBuf packet, int start) {
        int newLength = view.getLength();
        if (packet.hasArray()) {
            int viewStart = view.getOffset() - packet.arrayOffset();
            if (viewStart != start) {
                packet.setBytes(start, packet.array(), view.getOffset(), newLength);
            }
        } else {
            packet.setBytes(start, view.getBuffer(), view.getOffset(), newLength);
        }
        packet.writerIndex(start + newLength);
    }

    private static SrtpResult map(SrtpErrorStatus status) {
        return switch (status) {
            case OK -> SrtpResult.OK;
            case AUTH_FAIL -> SrtpResult.AUTH_FAIL;
            case REPLAY_FAIL, REPLAY_OLD -> SrtpResult.REPLAY;
            case INVALID_PACKET -> SrtpResult.INVALID;
            default -> SrtpResult.FAIL;
        };
    }
}
