package io.cascadesfu.server;

import io.cascadesfu.signaling.auth.Grants;
import io.cascadesfu.signaling.auth.TokenService;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code java -jar sfu-server.jar token ...}: prints a join token signed as the node's own are
 * ({@link TokenService#issue}), for scripts, tests and backends without a JWT library. The key comes from the
 * command line or from the node's configuration file (with the node's environment overrides, {@code SFU_KEYS}).
 */
final class TokenTool {
    static final Duration DEFAULT_TTL = Duration.ofHours(6);
    static final Duration MAX_TTL = Duration.ofDays(366);
    private static final Pattern DURATION = Pattern.compile("([1-9][0-9]{0,8})([smhd])");
    private static final Set<String> GRANTS = Set.of("publish", "subscribe");

    private TokenTool() {
    }

    static final String USAGE = """
            usage: java -jar sfu-server.jar token (--key-id K --secret S | --config FILE [--key-id K])
                                                  --room R --identity I [--name N] [--ttl 6h] [--grants LIST]
              Prints a join token (JWT, HS256) for room R and identity I on stdout.
              --key-id K      the key id ("kid"); with --config, needed when the file has several keys
              --secret S      its secret, at least 32 characters (visible to other users of the machine:
                              prefer --config, or SFU_KEYS=kid:secret in the environment with --config)
              --config FILE   the node's configuration file; its auth.keys (and SFU_KEYS) sign the token
              --room R        1..64 of [A-Za-z0-9_.-]
              --identity I    1..64 characters, unique in the room
              --name N        display name, 1..64 characters (default: the identity)
              --ttl D         lifetime: a number and s, m, h or d, at most 366d (default 6h)
              --grants LIST   what the participant may do: publish,subscribe (default), publish,
                              subscribe or none
            """;

    /** Runs the tool; returns the exit code (0, or 2 for a usage or configuration error). */
    static int run(String[] args, Map<String, String> env, Clock clock, PrintStream out, PrintStream err) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                out.print(USAGE);
                return 0;
            }
            if (!Set.of("--key-id", "--secret", "--config", "--room", "--identity", "--name", "--ttl", "--grants")
                    .contains(a)) {
                return usage(err, "unknown argument " + a);
            }
            if (i + 1 >= args.length) {
                return usage(err, a + " needs a value");
            }
            if (options.put(a, args[++i]) != null) {
                return usage(err, a + " given twice");
            }
        }
        String keyId = options.get("--key-id");
        String secret = options.get("--secret");
        String configFile = options.get("--config");
        String room = options.get("--room");
        String identity = options.get("--identity");
        String name = options.get("--name");
        if (room == null || identity == null) {
            return usage(err, "--room and --identity are required");
        }
        if ((secret == null) == (configFile == null)) {
            return usage(err, "give either --key-id and --secret, or --config");
        }
        if (!TokenService.isValidRoomName(room)) {
            return usage(err, "--room must be 1..64 of [A-Za-z0-9_.-]");
        }
        if (!TokenService.isValidIdentity(identity)) {
            return usage(err, "--identity must be 1..64 characters");
        }
        if (name != null && (name.isBlank() || name.length() > 64)) {
            return usage(err, "--name must be 1..64 characters");
        }
        Duration ttl = options.containsKey("--ttl") ? parseTtl(options.get("--ttl")) : DEFAULT_TTL;
        if (ttl == null) {
            return usage(err, "--ttl must be a number and s, m, h or d, at most 366d (e.g. 90s, 30m, 6h, 7d)");
        }
        Grants grants = options.containsKey("--grants") ? parseGrants(options.get("--grants")) : Grants.ALL;
        if (grants == null) {
            return usage(err, "--grants must be publish,subscribe, publish, subscribe or none");
        }

        Map<String, String> keys;
        if (secret != null) {
            if (keyId == null || keyId.isEmpty()) {
                return usage(err, "--secret needs --key-id");
            }
            if (secret.length() < 32) {
                return usage(err, "--secret must be at least 32 characters (as the node requires of its keys)");
            }
            keys = Map.of(keyId, secret);
        } else {
            try {
                keys = SfuConfig.load(Path.of(configFile), env).auth.keys;
            } catch (SfuConfig.ConfigException e) {
                err.println("configuration error: " + e.getMessage());
                return 2;
            }
            if (keys.isEmpty()) {
                err.println(configFile + " has no auth.keys (nor SFU_KEYS): nothing to sign with");
                return 2;
            }
            if (keyId == null) {
                if (keys.size() > 1) {
                    err.println(configFile + " has several keys " + keys.keySet() + ": choose one with --key-id");
                    return 2;
                }
                keyId = keys.keySet().iterator().next();
            } else if (!keys.containsKey(keyId)) {
                err.println(configFile + " has no key " + keyId + " (it has " + keys.keySet() + ")");
                return 2;
            }
        }
        out.println(new TokenService(keys, clock).issue(keyId, identity, room, name, grants, ttl));
        return 0;
    }

    private static int usage(PrintStream err, String error) {
        err.println(error);
        err.print(USAGE);
        return 2;
    }

    /** {@code 90s}, {@code 30m}, {@code 6h}, {@code 7d}; null if not one of those or above {@link #MAX_TTL}. */
    static Duration parseTtl(String s) {
        Matcher m = DURATION.matcher(s.trim());
        if (!m.matches()) {
            return null;
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        return d.compareTo(MAX_TTL) > 0 ? null : d;
    }

    /** A comma-separated subset of publish and subscribe, or {@code none}; null if anything else. */
    static Grants parseGrants(String s) {
        if (s.trim().equals("none")) {
            return new Grants(false, false);
        }
        boolean publish = false;
        boolean subscribe = false;
        for (String g : s.split(",", -1)) {
            String grant = g.trim();
            if (!GRANTS.contains(grant)) {
                return null;
            }
            publish |= grant.equals("publish");
            subscribe |= grant.equals("subscribe");
        }
        return new Grants(publish, subscribe);
    }
}
