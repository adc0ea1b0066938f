import BerthSystem
import Foundation
import Glibc
import Synchronization

/// What berthd asks of the embedded DNS: the containers' names on each network, and the socket
/// each container is served on. `EmbeddedDNS` serves in process (tests); `NameServerClient`
/// hands it all to the `berth-dns` process, which outlives berthd.
public protocol NameService: Sendable {
    /// Makes sure the service runs before the first names go to it (berth-dns is started at
    /// the first container that needs it); throws when it cannot.
    func prepare() throws
    func add(_ member: EmbeddedDNS.Member)
    func serve(_ socket: Int32, for container: String, upstreams: [IPv4Address], pid: Int32?)
    func listen(_ listener: Int32, for container: String)
    func isServing(_ container: String) -> Bool
    func remove(container: String, network: String?)
}

/// One message between berthd and `berth-dns`, a JSON object per `SOCK_SEQPACKET` packet (the
/// UDP socket of `serve` and the TCP listener of `listen` ride along with SCM_RIGHTS). `hello` opens a connection: berth-dns
/// answers with the containers it serves already (its sockets outlived a berthd).
public struct NameServerMessage: Codable, Sendable, Equatable {
    public enum Operation: String, Codable, Sendable { case hello, add, serve, listen, remove, served }

    public var op: Operation
    public var container: String?
    public var network: String?
    public var names: [String]?
    public var address: String?
    public var address6: String?
    public var links: [String: String]?
    public var upstreams: [String]?
    public var pid: Int32?
    /// `served`: the containers berth-dns has sockets for.
    public var containers: [String]?

    public init(op: Operation) { self.op = op }

    public var bytes: [UInt8] { Array((try? JSONEncoder().encode(self)) ?? Data()) }

    public init(bytes: [UInt8]) throws { self = try JSONDecoder().decode(Self.self, from: Data(bytes)) }

    /// The member an `add` carries.
    public var member: EmbeddedDNS.Member? {
        guard op == .add, let container, let network, let address = address.flatMap(IPv4Address.init) else { return nil }
        return EmbeddedDNS.Member(container: container, network: network, names: names ?? [], address: address,
                                  address6: address6.flatMap(IPv6Address.init), links: links ?? [:])
    }

    /// Applies a message of berthd's to the server (`berth-dns`'s side); the answer to `hello`.
    public func apply(to dns: EmbeddedDNS, descriptor: Int32?) -> NameServerMessage? {
        switch op {
        case .hello:
            dns.setUpstreams((upstreams ?? []).compactMap(IPv4Address.init))
            var answer = NameServerMessage(op: .served)
            answer.containers = dns.served
            return answer
        case .add:
            if let member { dns.add(member) }
        case .serve:
            if let descriptor, let container {
                dns.serve(descriptor, for: container, upstreams: (upstreams ?? []).compactMap(IPv4Address.init), pid: pid)
                return nil
            }
        case .listen:
            if let descriptor, let container {
                dns.listen(descriptor, for: container)
                return nil
            }
        case .remove:
            if let container { dns.remove(container: container, network: network) }
        case .served:
            break
        }
        if let descriptor { close(descriptor) }
        return nil
    }
}

/// berthd's side of `berth-dns`: every change is sent at once over one connection; which
/// containers have a socket is mirrored here (a restarted berthd learns it from `hello`).
public final class NameServerClient: NameService {
    public func prepare() {}

    private struct State {
        var fd: Int32
        var serving: Set<String>
        /// The networks each container has names on: its socket goes with the last.
        var networks: [String: Set<String>] = [:]
    }

    private let state: Mutex<State>

    /// Connects to `berth-dns` at `path` and says hello: the daemon's `upstreams`.
    public init(path: String, upstreams: [IPv4Address]) throws {
        let fd = try UnixSocket.connect(path, seqpacket: true)
        do {
            // A berth-dns that accepts but never answers must not hold up berthd's start.
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var hello = NameServerMessage(op: .hello)
            hello.upstreams = upstreams.map(\.description)
            try Self.send(hello, on: fd)
            let (reply, _) = try FileDescriptors.receiveMessage(over: fd)
            let served = try NameServerMessage(bytes: reply)
            state = Mutex(State(fd: fd, serving: Set(served.containers ?? [])))
        } catch {
            close(fd)
            throw NetworkError("berth-dns at \(path) did not answer: \(error)")
        }
    }

    deinit { state.withLock { close($0.fd) } }

    /// Calls `lost` (once, on a thread of its own) when berth-dns hangs up: killed, or crashed.
    /// berth-dns sends nothing after its hello answer, so the socket only ever becomes readable
    /// at its end.
    public func watch(_ lost: @escaping @Sendable () -> Void) {
        let fd = state.withLock { $0.fd }
        Thread.detachNewThread {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while poll(&entry, 1, -1) < 0 && errno == EINTR {}
            // POLLNVAL: this client was closed first (a berthd shutting down); nothing was lost.
            if entry.revents & Int16(POLLNVAL) == 0 { lost() }
        }
    }

    private static func send(_ message: NameServerMessage, on fd: Int32, descriptor: Int32? = nil) throws {
        if let descriptor {
            try FileDescriptors.send(fd: descriptor, over: fd, message: message.bytes)
        } else {
            let bytes = message.bytes
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent != bytes.count { throw SystemError("send to berth-dns") }
        }
    }

    /// Sends, or drops the change when berth-dns is gone: the daemon's watch (`watch`) starts
    /// berth-dns again and serves every running container's names anew.
    private func send(_ message: NameServerMessage, descriptor: Int32? = nil) {
        state.withLock { state in _ = try? Self.send(message, on: state.fd, descriptor: descriptor) }
    }

    public func add(_ member: EmbeddedDNS.Member) {
        state.withLock { _ = $0.networks[member.container, default: []].insert(member.network) }
        var message = NameServerMessage(op: .add)
        message.container = member.container
        message.network = member.network
        message.names = member.names
        message.address = member.address.description
        message.address6 = member.address6?.description
        message.links = member.links.isEmpty ? nil : member.links
        send(message)
    }

    public func serve(_ socket: Int32, for container: String, upstreams: [IPv4Address], pid: Int32?) {
        var message = NameServerMessage(op: .serve)
        message.container = container
        message.upstreams = upstreams.isEmpty ? nil : upstreams.map(\.description)
        message.pid = pid
        state.withLock { state in
            _ = try? Self.send(message, on: state.fd, descriptor: socket)
            state.serving.insert(container)
        }
        // berth-dns has its own copy of the socket now.
        close(socket)
    }

    public func listen(_ listener: Int32, for container: String) {
        var message = NameServerMessage(op: .listen)
        message.container = container
        state.withLock { state in _ = try? Self.send(message, on: state.fd, descriptor: listener) }
        close(listener)
    }

    public func isServing(_ container: String) -> Bool { state.withLock { $0.serving.contains(container) } }

    public func remove(container: String, network: String?) {
        var message = NameServerMessage(op: .remove)
        message.container = container
        message.network = network
        send(message)
        // berth-dns closes its socket with its last network.
        state.withLock { state in
            if let network { state.networks[container]?.remove(network) } else { state.networks[container] = nil }
            if state.networks[container]?.isEmpty ?? true {
                state.networks[container] = nil
                state.serving.remove(container)
            }
        }
    }
}
