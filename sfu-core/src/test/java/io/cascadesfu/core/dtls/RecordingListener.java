package io.cascadesfu.core.dtls;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

/** Captures DtlsListener events for assertions. */
final class RecordingListener implements DtlsListener {
    final CompletableFuture<SrtpKeys> connected = new CompletableFuture<>();
    final CompletableFuture<String> failed = new CompletableFuture<>();
    final CountDownLatch closed = new CountDownLatch(1);

    @Override
    public void onDtlsConnected(SrtpKeys keys) {
        connected.complete(keys);
    }

    @Override
    public void onDtlsFailed(String reason) {
        failed.complete(reason);
    }

    @Override
    public void onDtlsClosed() {
        closed.countDown();
    }
}
