package io.cascadesfu.load;

import java.io.IOException;
import java.io.PrintStream;

/**
 * {@code java -jar sfu-load.jar --url http://127.0.0.1:7880 --shape meeting --participants 10}: starts simulated
 * participants against one or more nodes, prints progress and a summary (see sfu-load/README.md).
 *
 * <p>Exit status: 0 when every participant connected, 1 when some failed, 2 on a bad command line.
 */
public final class LoadTool {
    private static final java.util.logging.Logger JITSI_LOG = java.util.logging.Logger.getLogger("org.jitsi");

    private LoadTool() {
    }

    public static void main(String[] args) {
        // jitsi-srtp logs its provider choice through java.util.logging at INFO: not progress output.
        JITSI_LOG.setLevel(java.util.logging.Level.WARNING);
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the tool; returns the exit status. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        LoadOptions options;
        try {
            options = LoadOptions.parse(args);
        } catch (LoadOptions.UsageException e) {
            err.println("sfu-load: " + e.getMessage());
            err.println();
            err.print(LoadOptions.USAGE);
            return 2;
        }
        if (options.help) {
            out.print(LoadOptions.USAGE);
            return 0;
        }
        LoadSummary summary;
        try {
            summary = new LoadRun(options, out).run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("sfu-load: interrupted");
            return 1;
        }
        out.print(summary.toText());
        if (options.json != null) {
            try {
                summary.writeJson(options.json);
                out.println("summary written to " + options.json);
            } catch (IOException e) {
                err.println("sfu-load: cannot write " + options.json + ": " + e.getMessage());
                return 1;
            }
        }
        return summary.failed() == 0 ? 0 : 1;
    }
}
