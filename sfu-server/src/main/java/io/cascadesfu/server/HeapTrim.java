package io.cascadesfu.server;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
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

    private HeapTrim() {
    }

    /** Tightens the free ratios and compacts: before the warm-up, so its burst of garbage cannot grow the heap. */
    static void beforeStart() {
        tightenFreeRatios();
        System.gc();
    }

    /** Compacts what start-up and the warm-up left and logs the heap the node starts with. */
    static void afterStart() {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        log.info("heap after start: {} MB used of {} MB committed (max {} MB)",
                (rt.totalMemory() - rt.freeMemory()) >> 20, rt.totalMemory() >> 20, rt.maxMemory() >> 20);
    }

    private static void tightenFreeRatios() {
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            if (isDefault(vm, MIN_FREE) && isDefault(vm, MAX_FREE)) {
                // Order matters: min must stay <= max at every step.
                vm.setVMOption(MIN_FREE, "10");
                vm.setVMOption(MAX_FREE, "30");
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
