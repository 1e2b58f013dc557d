package io.cascadesfu.core.transport;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the transport a datagram belongs to: by remote address for every validated address,
 * by local ICE username fragment for a STUN check from an address not seen yet.
 *
 * <p>Threading: its worker's event loop only; no locks.
 */
public final class TransportRegistry {
    /** Addresses one transport may own at once (candidate pairs tried, network changes). */
    static final int MAX_ADDRESSES_PER_TRANSPORT = 8;

    private final Map<String, WebRtcTransport> byUfrag = new HashMap<>();
    private final Map<InetSocketAddress, WebRtcTransport> byAddress = new HashMap<>();
    private final Map<WebRtcTransport, List<InetSocketAddress>> addressesOf = new HashMap<>();
    private UfragDirectory directory;
    private UfragDirectory.Owner owner;

    /**
     * Publishes this registry's ufrags in the node's {@code directory} (for ICE-TCP connections, which are accepted
     * before their worker is known), as owned by {@code owner}. Once, before the first {@link #register}.
     */
    public void publishTo(UfragDirectory directory, UfragDirectory.Owner owner) {
        this.directory = directory;
        this.owner = owner;
    }

    public void register(String localUfrag, WebRtcTransport transport) {
        byUfrag.put(localUfrag, transport);
        addressesOf.putIfAbsent(transport, new ArrayList<>(2));
        if (directory != null) {
            directory.put(localUfrag, owner);
        }
    }

    public void unregisterUfrag(String localUfrag) {
        if (byUfrag.remove(localUfrag) != null && directory != null) {
            directory.remove(localUfrag, owner);
        }
    }

    public WebRtcTransport byUfrag(String localUfrag) {
        return localUfrag == null ? null : byUfrag.get(localUfrag);
    }

    public WebRtcTransport byAddress(InetSocketAddress address) {
        return byAddress.get(address);
    }

    /** Records that {@code address} passed an ICE check for {@code transport}. */
    public void bindAddress(InetSocketAddress address, WebRtcTransport transport) {
        WebRtcTransport previous = byAddress.put(address, transport);
        if (previous == transport) {
            return;
        }
        if (previous != null) {
            List<InetSocketAddress> list = addressesOf.get(previous);
            if (list != null) {
                list.remove(address);
            }
        }
        List<InetSocketAddress> list = addressesOf.computeIfAbsent(transport, t -> new ArrayList<>(2));
        list.add(address);
        if (list.size() > MAX_ADDRESSES_PER_TRANSPORT) {
            InetSocketAddress oldest = list.remove(0);
            if (!oldest.equals(transport.remoteAddress())) {
                byAddress.remove(oldest, transport);
            } else {
                list.add(oldest);
                byAddress.remove(list.remove(0), transport);
            }
        }
    }

    /** Forgets every mapping of the transport. */
    public void remove(WebRtcTransport transport) {
        byUfrag.entrySet().removeIf(e -> {
            if (e.getValue() != transport) {
                return false;
            }
            if (directory != null) {
                directory.remove(e.getKey(), owner);
            }
            return true;
        });
        List<InetSocketAddress> list = addressesOf.remove(transport);
        if (list != null) {
            for (InetSocketAddress a : list) {
                byAddress.remove(a, transport);
            }
        }
    }

    public Collection<WebRtcTransport> transports() {
        return addressesOf.keySet();
    }

    public int size() {
        return addressesOf.size();
    }
}
