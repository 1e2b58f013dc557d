package io.cascadesfu.server;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import javax.management.JMException;
import javax.management.ObjectName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sizes the heap for the work once the node has started. JVM defaults on a large machine commit a heap of 1/64 of
 * RAM at start and keep up to 70 % of it free after a collection; a media node's live heap is small (tens of MB,
 * BENCHMARKS.md), so most of what it commits is eden that the allocation cycles through, which shows as resident
 * memory. After start-up the node tightens the free ratios (both are manageable flags, so no command-line flag is
 * needed) and compacts once: the heap then grows only as the load needs it, and G1 gives memory back at each full
 * collection. A ratio the operator set on the command line is left alone.
 */
final class HeapTrim {
    private static final Logger log = LoggerFactory.getLogger(HeapTrim.class);
    static final String MIN_FREE = "MinHeapFreeRatio";
    static final String MAX_FREE = "MaxHeapFreeRatio";
    /** G1 only (the flag exists with other collectors too, and they ignore it). */
    static final String PERIODIC_GC = "G1PeriodicGCInterval";
    static final long PERIODIC_GC_MS = 30_000;

    private HeapTrim() {
    }

    /** Tightens the free ratios and compacts: before the warm-up, so its burst of garbage cannot grow the heap. */
    static void beforeStart() {
        tightenFreeRatios();
        System.gc();
    }

    /**
     * Compacts what start-up and the warm-up left, hands the C heap that start-up freed (the JIT's arenas above all)
     * back to the system, and logs the heap the node starts with.
     */
    static void afterStart() {
        System.gc();
        trimNativeHeap();
        Runtime rt = Runtime.getRuntime();
        log.info("heap after start: {} MB used of {} MB committed (max {} MB)",
                (rt.totalMemory() - rt.freeMemory()) >> 20, rt.totalMemory() >> 20, rt.maxMemory() >> 20);
    }

    /**
     * glibc keeps what the JVM frees (C2's compilation arenas, tens of MB during the warm-up) for reuse; the
     * {@code System.trim_native_heap} diagnostic command (JDK 17.0.9 and later, glibc only) returns it.
     */
    private static void trimNativeHeap() {
        try {
            Object answer = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "systemTrimNativeHeap",
                    new Object[] {new String[0]}, new String[] {String[].class.getName()});
            log.debug("native heap trim: {}", String.valueOf(answer).strip());
        } catch (JMException | RuntimeException e) {
            log.debug("native heap not trimmed: {}", e.toString());
        }
    }

    private static void tightenFreeRatios() {
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            if (isDefault(vm, MIN_FREE) && isDefault(vm, MAX_FREE)) {
                // Order matters: min must stay <= max at every step.
                vm.setVMOption(MIN_FREE, "10");
                vm.setVMOption(MAX_FREE, "30");
            }
            // A burst (many joins at once) can make G1 grow the heap, and it shrinks only at a full or concurrent
            // collection, which a lightly loaded node seldom needs: a concurrent cycle when none ran for a while.
            if (isDefault(vm, PERIODIC_GC) && "0".equals(vm.getVMOption(PERIODIC_GC).getValue())) {
                vm.setVMOption(PERIODIC_GC, String.valueOf(PERIODIC_GC_MS));
            }
        } catch (RuntimeException e) {
            log.debug("heap free ratios left at their defaults: {}", e.toString());
        }
    }

    private static boolean isDefault(HotSpotDiagnosticMXBean vm, String name) {
        VMOption o = vm.getVMOption(name);
        return o.getOrigin() == VMOption.Origin.DEFAULT || o.getOrigin() == VMOption.Origin.ERGONOMIC;
    }
}
