package io.cascadesfu.core.dtls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.cascadesfu.core.srtp.SrtpResult;
import io.cascadesfu.core.srtp.SrtpSession;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A real handshake between two Netty UDP channels on 127.0.0.1, then SRTP with the exported keys. */
class DtlsUdpTest {

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final ExecutorService handshakeExecutor = Executors.newCachedThreadPool();

    @AfterEach
    void tearDown() throws InterruptedException {
        handshakeExecutor.shutdownNow();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        assertTrue(handshakeExecutor.awaitTermination(5, TimeUnit.SECONDS));
    }

    /** First-byte demux as the edge will do it (RFC 7983): 20..63 DTLS, 128..191 RTP/RTCP. */
    private Channel bind(Consumer<ByteBuf> dtls, BlockingQueue<byte[]> media) throws InterruptedException {
        return new Bootstrap().group(group).channel(NioDatagramChannel.class)
            .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                @Override
                protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
                    ByteBuf content = packet.content();
                    if (!content.isReadable()) {
                        return;
                    }
                    int first = content.getUnsignedByte(content.readerIndex());
                    if (first >= 20 && first <= 63) {
                        dtls.accept(content);
                    } else if (first >= 128 && first <= 191) {
                        byte[] copy = new byte[content.readableBytes()];
                        content.getBytes(content.readerIndex(), copy);
                        media.offer(copy);
                    }
                }
            })
            .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    private static DatagramSender sender(Channel channel, InetSocketAddress[] remote) {
        return (data, offset, length) ->
            channel.writeAndFlush(new DatagramPacket(Unpooled.copiedBuffer(data, offset, length), remote[0]));
    }

    @Test
    void handshakeOverUdpThenSrtpBothWays() throws Exception {
        DtlsCertificate serverCert = DtlsCertificate.generate();
        DtlsCertificate clientCert = DtlsCertificate.generate();
        RecordingListener serverEvents = new RecordingListener();
        RecordingListener clientEvents = new RecordingListener();
        BlockingQueue<byte[]> serverMedia = new ArrayBlockingQueue<>(16);
        BlockingQueue<byte[]> clientMedia = new ArrayBlockingQueue<>(16);
        DtlsServerSession[] server = new DtlsServerSession[1];
        DtlsClientSession[] client = new DtlsClientSession[1];
        Channel serverChannel = bind(b -> server[0].onDatagram(b), serverMedia);
        Channel clientChannel = bind(b -> client[0].onDatagram(b), clientMedia);
        InetSocketAddress[] serverToClient = {(InetSocketAddress) clientChannel.localAddress()};
        InetSocketAddress[] clientToServer = {(InetSocketAddress) serverChannel.localAddress()};
        server[0] = new DtlsServerSession(serverCert, "sha-256", clientCert.fingerprintSha256(), handshakeExecutor,
            sender(serverChannel, serverToClient), serverEvents, Duration.ofSeconds(10));
        client[0] = new DtlsClientSession(clientCert, "sha-256", serverCert.fingerprintSha256(), handshakeExecutor,
            sender(clientChannel, clientToServer), clientEvents, Duration.ofSeconds(10),
            List.of(SrtpProfile.AES_CM_128_HMAC_SHA1_80));
        client[0].start();

        SrtpKeys serverKeys = serverEvents.connected.get(10, TimeUnit.SECONDS);
        SrtpKeys clientKeys = clientEvents.connected.get(10, TimeUnit.SECONDS);
        DtlsSessionTest.assertCrossed(serverKeys, clientKeys, SrtpProfile.AES_CM_128_HMAC_SHA1_80);

        SrtpSession serverSrtp = new SrtpSession(serverKeys);
        SrtpSession clientSrtp = new SrtpSession(clientKeys);
        sendRtp(clientSrtp, clientChannel, clientToServer[0], serverSrtp, serverMedia, 0x11111111);
        sendRtp(serverSrtp, serverChannel, serverToClient[0], clientSrtp, clientMedia, 0x22222222);

        client[0].close();
        assertTrue(serverEvents.closed.await(5, TimeUnit.SECONDS), "server saw close_notify");
        server[0].close();
        serverChannel.close().sync();
        clientChannel.close().sync();
    }

    private static void sendRtp(SrtpSession protector, Channel channel, InetSocketAddress to, SrtpSession unprotector,
                                BlockingQueue<byte[]> received, int ssrc) throws InterruptedException {
        byte[] plain = new byte[12 + 100];
        plain[0] = (byte) 0x80;                   // V=2
        plain[1] = 111;                           // PT=111
        plain[3] = 1;                             // sequence number 1
        plain[8] = (byte) (ssrc >> 24);           // SSRC
        plain[9] = (byte) (ssrc >> 16);
        plain[10] = (byte) (ssrc >> 8);
        plain[11] = (byte) ssrc;
        ByteBuf out = channel.alloc().directBuffer(plain.length + SrtpSession.MAX_RTP_OVERHEAD).writeBytes(plain);
        assertEquals(SrtpResult.OK, protector.protectRtp(out));
        channel.writeAndFlush(new DatagramPacket(out, to));
        byte[] wire = received.poll(5, TimeUnit.SECONDS);
        ByteBuf in = Unpooled.wrappedBuffer(wire);
        try {
            assertEquals(SrtpResult.OK, unprotector.unprotectRtp(in));
            byte[] decrypted = new byte[in.readableBytes()];
            in.getBytes(in.readerIndex(), decrypted);
            assertArrayEquals(plain, decrypted);
        } finally {
            in.release();
        }
    }
}
