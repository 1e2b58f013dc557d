package io.cascadesfu.bench;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * JMH's worker threads as Netty {@code FastThreadLocalThread}s, like the media event loop's thread, selected in each
 * benchmark's {@code @Fork} with {@code -Djmh.executor=CUSTOM -Djmh.executor.class=}this class.
 *
 * <p>Why: in Netty 4.2 a plain {@link Thread} gets no pooled-object recycling nor allocator thread cache, so every
 * {@code PooledByteBufAllocator.directBuffer} + {@code release} on it allocates a new {@code PooledByteBuf}
 * (104 bytes; 144 with {@code io.netty.allocator.useCacheForAllThreads=true}), which the node's event loop never
 * does. Without this executor {@code -prof gc} would blame the core for a cost of the benchmark harness.
 */
public final class FastThreadLocalExecutor extends ThreadPoolExecutor {

    /** The constructor JMH calls reflectively: maximum worker threads and a thread name prefix. */
    public FastThreadLocalExecutor(int maxThreads, String prefix) {
        super(maxThreads, maxThreads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
            new DefaultThreadFactory(prefix, true));
    }
}
