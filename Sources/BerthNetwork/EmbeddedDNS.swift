import BerthSystem
import CBerthSystem
import Foundation
import Glibc
import Synchronization

/// Docker's embedded DNS for user-defined networks: each container on one gets a UDP socket at
/// 127.0.0.11:53 inside its namespace, opened by berthd and served by one thread (of the
/// `berth-dns` process, which outlives berthd) for all containers. A name (container name, alias, short ID) resolves to the addresses of the
/// containers on the asker's networks only, in turn (round robin); a reverse lookup of such an
/// address to its name; anything else is forwarded to the upstream resolvers, all at once, and
/// the first answer wins (a dead upstream never stalls a lookup). Without upstreams it is
/// NXDOMAIN at once.
public final class EmbeddedDNS: NameService {
    /// A container's entry on one network.
    public struct Member: Sendable, Equatable {
        public var container: String
        public var network: String
        public var names: [String]
        public var address: IPv4Address
        /// Its IPv6 address, on a dual-stack network.
        public var address6: IPv6Address?
        /// Names only this container resolves (its links), to their target containers.
        public var links: [String: String]

        public init(container: String, network: String, names: [String], address: IPv4Address, address6: IPv6Address? = nil, links: [String: String] = [:]) {
            self.container = container
            self.network = network
            self.names = names.map { $0.lowercased() }
            self.address = address
            self.address6 = address6
            self.links = Dictionary(links.map { ($0.key.lowercased(), $0.value) }) { first, _ in first }
        }
    }

    private struct State {
        var members: [Member] = []
        /// The serving socket of each container, and back.
        var sockets: [Int32: String] = [:]
        /// A container's own resolvers (`--dns`), in place of the daemon's.
        var upstreams: [String: [IPv4Address]] = [:]
        /// Where names the networks do not know are asked (port 53).
        var defaultUpstreams: [IPv4Address]
        /// A pidfd of each container's first process: its exit ends the container's serving.
        var exits: [Int32: String] = [:]
        /// Each container's TCP listener at 127.0.0.11:53, and back.
        var listeners: [Int32: String] = [:]
        var rotation = 0
    }

    private let state: Mutex<State>
    private let waker: WakePipe
    private let onIdle: @Sendable () -> Void

    /// `upstreams`: where names the networks do not know are asked (port 53). `onIdle` runs
    /// (on the serving thread) when the last container's socket goes after its exit.
    public init(upstreams: [IPv4Address], onIdle: @escaping @Sendable () -> Void = {}) throws {
        state = Mutex(State(defaultUpstreams: upstreams))
        self.onIdle = onIdle
        waker = try WakePipe()
        let thread = Thread { [self] in self.serve() }
        thread.name = "berthd embedded DNS"
        thread.start()
    }

    // MARK: Records and sockets

    public func prepare() {}

    public func add(_ member: Member) {
        state.withLock { state in
            state.members.removeAll { $0.container == member.container && $0.network == member.network }
            state.members.append(member)
        }
    }

    /// Serves `socket` (bound to 127.0.0.11:53 in the container's namespace) for `container`,
    /// forwarding what the networks do not know to `upstreams` (the daemon's when empty); until
    /// the process `pid` (the container's first) exits, when given, or `remove`.
    public func serve(_ socket: Int32, for container: String, upstreams: [IPv4Address] = [], pid: Int32? = nil) {
        let exit = pid.map { berth_pidfd_open($0) }.flatMap { $0 >= 0 ? $0 : nil }
        state.withLock { state in
            state.sockets[socket] = container
            state.upstreams[container] = upstreams.isEmpty ? nil : upstreams
            if let exit { state.exits[exit] = container }
        }
        waker.wake()
    }

    /// Serves TCP clients of `container` (whose UDP answer was truncated) on `listener`, bound
    /// to 127.0.0.11:53 in its namespace and listening; it goes with the container's socket.
    public func listen(_ listener: Int32, for container: String) {
        state.withLock { $0.listeners[listener] = container }
        waker.wake()
    }

    /// Whether the container has its socket already (one serves all its networks).
    public func isServing(_ container: String) -> Bool {
        state.withLock { $0.sockets.values.contains(container) }
    }

    /// The containers with a socket.
    public var served: [String] { state.withLock { Array(Set($0.sockets.values)).sorted() } }

    public func setUpstreams(_ upstreams: [IPv4Address]) { state.withLock { $0.defaultUpstreams = upstreams } }

    /// The container's names on `network` go (on every network when nil); its socket is closed
    /// when it is on none of them any more.
    public func remove(container: String, network: String? = nil) {
        let closed = state.withLock { state in
            state.members.removeAll { $0.container == container && (network == nil || $0.network == network) }
            guard !state.members.contains(where: { $0.container == container }) else { return [Int32]() }
            state.upstreams[container] = nil
            let sockets = state.sockets.filter { $0.value == container }.map(\.key)
            for socket in sockets { state.sockets[socket] = nil }
            let exits = state.exits.filter { $0.value == container }.map(\.key)
            for exit in exits { state.exits[exit] = nil }
            let listeners = state.listeners.filter { $0.value == container }.map(\.key)
            for listener in listeners { state.listeners[listener] = nil }
            return sockets + exits + listeners
        }
        waker.wake()
        // The poll thread may still hold the descriptor for one more turn: closing it then would
        // let a new socket reuse its number under the old owner; it re-reads the table each turn.
        for socket in closed { close(socket) }
    }

    // MARK: Answers

    /// The answer to `query` from `container`, or nil when it must be forwarded; over UDP
    /// (`stream` false) at most 512 bytes, truncated.
    func answer(_ query: DNSQuery, from container: String, stream: Bool = false) -> [UInt8]? {
        state.withLock { state in
            let own = state.members.filter { $0.container == container }
            let networks = Set(own.map(\.network))
            let visible = state.members.filter { networks.contains($0.network) }
            if query.reverseAddress != nil || query.reverseAddress6 != nil {
                let reverse = query.reverseAddress, reverse6 = query.reverseAddress6
                guard let member = visible.first(where: { (reverse != nil && $0.address == reverse) || (reverse6 != nil && $0.address6 == reverse6) }) else { return nil }
                return query.type == DNSQuery.ptr ? query.answer(names: [member.names.first ?? member.container]) : query.answer()
            }
            // A link's alias is the asker's own name for its target, on the network of the link.
            let linked = Set(own.compactMap { member in member.links[query.name].map { "\($0)/\(member.network)" } })
            let matching = visible.filter { member in
                member.names.contains(query.name) || member.names.contains { query.name == "\($0).\(member.network)" }
                    || linked.contains("\(member.container)/\(member.network)")
            }
            guard !matching.isEmpty else { return nil }
            // Several containers under one alias: each answer starts at the next one.
            state.rotation &+= 1
            func rotated<T: Comparable & Hashable>(_ values: [T]) -> [T] {
                let sorted = Array(Set(values)).sorted()
                guard sorted.count > 1 else { return sorted }
                let start = state.rotation % sorted.count
                return Array(sorted[start...] + sorted[..<start])
            }
            switch (query.type, stream) {
            case (DNSQuery.a, false): return query.answerFittingUDP(addresses: rotated(matching.map(\.address)))
            case (DNSQuery.a, true): return query.answer(addresses: rotated(matching.map(\.address)))
            case (DNSQuery.aaaa, false): return query.answerFittingUDP(addresses6: rotated(matching.compactMap(\.address6)))
            case (DNSQuery.aaaa, true): return query.answer(addresses6: rotated(matching.compactMap(\.address6)))
            default: return query.answer()
            }
        }
    }

    // MARK: Serving

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 512)
        var streams = DNSStreams()
        while true {
            let (sockets, exits, listeners) = state.withLock { ($0.sockets, $0.exits, $0.listeners) }
            streams.prune(serving: Set(sockets.values))
            var fds = [waker.pollEntry]
            fds += exits.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            fds += sockets.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            fds += listeners.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            fds += streams.pollEntries
            guard poll(&fds, nfds_t(fds.count), streams.timeout) >= 0 else { continue }
            if fds[0].revents != 0 { waker.drain() }
            // A container that exited (while berthd was down, say): its names and socket go.
            let ended = fds[1..<(1 + exits.count)].filter { $0.revents != 0 }.compactMap { exits[$0.fd] }
            if !ended.isEmpty {
                for container in ended { remove(container: container) }
                if state.withLock({ $0.sockets.isEmpty }) { onIdle() }
                continue
            }
            for entry in fds.dropFirst(1 + exits.count) where entry.revents != 0 {
                if sockets[entry.fd] != nil {
                    if entry.revents & Int16(POLLIN) != 0 { receive(on: entry.fd, into: &buffer) }
                } else if let container = listeners[entry.fd] {
                    // Removed meanwhile: its descriptor is not this container's any more.
                    if state.withLock({ $0.listeners[entry.fd] }) == container { streams.accept(entry.fd, for: container) }
                } else if let (container, packet) = streams.read(entry.fd) {
                    respond(to: packet, from: container, stream: entry.fd)
                }
            }
        }
    }

    /// One UDP query: answered at once, or forwarded off this thread.
    private func receive(on fd: Int32, into buffer: inout [UInt8]) {
        // Removed meanwhile: its descriptor is not this container's any more.
        guard let container = state.withLock({ $0.sockets[fd] }) else { return }
        var peer = sockaddr_in()
        var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, &peerLength) }
            }
        }
        guard count > 0, let query = DNSQuery(Array(buffer[0..<count])) else { return }
        if let reply = answer(query, from: container) {
            Self.send(reply, on: fd, to: peer)
        } else {
            let packet = Array(buffer[0..<count]), asker = peer
            let upstreams = state.withLock { $0.upstreams[container] ?? $0.defaultUpstreams }
            DispatchQueue.global().async { Self.send(Self.forward(packet, query, to: upstreams), on: fd, to: asker) }
        }
    }

    /// One TCP query: the whole answer (or the upstream's), written and the connection closed
    /// off this thread. A malformed query just closes it.
    private func respond(to packet: [UInt8], from container: String, stream fd: Int32) {
        guard let query = DNSQuery(packet) else {
            close(fd)
            return
        }
        let local = answer(query, from: container, stream: true)
        let upstreams = state.withLock { $0.upstreams[container] ?? $0.defaultUpstreams }
        DispatchQueue.global().async { DNSStreams.answer(local ?? Self.forward(packet, query, to: upstreams), on: fd) }
    }

    private static func send(_ reply: [UInt8], on fd: Int32, to peer: sockaddr_in) {
        var peer = peer
        _ = reply.withUnsafeBytes { bytes in
            withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// Asks every upstream at once and returns the first answer to arrive within two seconds;
    /// NXDOMAIN when there is none (no upstream, or none answered).
    static func forward(_ packet: [UInt8], _ query: DNSQuery, to upstreams: [IPv4Address]) -> [UInt8] {
        guard !upstreams.isEmpty else { return query.answer(notFound: true) }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return query.answer(notFound: true) }
        defer { close(fd) }
        for upstream in upstreams {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(53).bigEndian
            address.sin_addr.s_addr = upstream.value.bigEndian
            _ = packet.withUnsafeBytes { bytes in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(2)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = ContinuousClock.now.duration(to: deadline).components
            guard poll(&entry, 1, Int32(max(1, left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000))) > 0 else { break }
            let count = recv(fd, &buffer, buffer.count, 0)
            // An unreachable upstream (ICMP) shows as an error here: the others may still answer.
            guard count >= 12 else { continue }
            if UInt16(buffer[0]) << 8 | UInt16(buffer[1]) == query.id { return Array(buffer[0..<count]) }
        }
        return query.answer(notFound: true)
    }
}
