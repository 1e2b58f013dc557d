package io.cascadesfu.core.testing;

import io.netty.util.ResourceLeakDetector;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Turns Netty leak reports into test failures. Registered for every test class through JUnit's
 * extension auto-detection; the tests run with {@code -Dio.netty.leakDetection.level=paranoid}
 * and {@code -Dio.netty.customResourceLeakDetector} naming {@link Detector}.
 *
 * <p>After each test class it forces garbage collection so that leaked buffers of that class are
 * found and reported against it.
 */
public final class LeakGuard implements AfterAllCallback {
    private static final List<String> LEAKS = new ArrayList<>();

    /** Netty instantiates this for every leak-tracked resource type. */
    public static final class Detector<T> extends ResourceLeakDetector<T> {
        public Detector(Class<?> resourceType, int samplingInterval, long maxActive) {
            super(resourceType, samplingInterval);
        }

        public Detector(Class<?> resourceType, int samplingInterval) {
            super(resourceType, samplingInterval);
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
            record(resourceType + " leaked:" + records);
            super.reportTracedLeak(resourceType, records);
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
            record(resourceType + " leaked (untraced)");
            super.reportUntracedLeak(resourceType);
        }
    }

    static void record(String leak) {
        synchronized (LEAKS) {
            LEAKS.add(leak);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws InterruptedException {
        // Leaks are only noticed when a collected buffer's phantom reference is polled, which
        // happens on the next tracked allocation.
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(20);
            io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(16).release();
            io.netty.buffer.UnpooledByteBufAllocator.DEFAULT.heapBuffer(16).release();
        }
        List<String> found;
        synchronized (LEAKS) {
            found = new ArrayList<>(LEAKS);
            LEAKS.clear();
        }
        if (!found.isEmpty()) {
            throw new AssertionError(found.size() + " Netty buffer leak(s) detected in or before "
                    + context.getDisplayName() + ":\n" + String.join("\n\n", found));
        }
    }
}
