import BerthNetwork
import BerthSystem
import CBerthSystem
import Foundation
import Glibc
import Synchronization

/// The daemon's embedded DNS, `berth-dns`: the one a previous berthd left running is reached at
/// start (the sockets of the containers that outlived that berthd are there); otherwise one is
/// started when the first container needs it, so a daemon whose containers use no user-defined
/// network runs none.
final class DaemonNameService: NameService {
    private let path: String
    private let binary: String
    private let upstreams: [IPv4Address]
    private let client: Mutex<NameServerClient?>
    /// What to do when berth-dns ends under a running berthd (`onLoss`).
    private let lossHandler = Mutex<(@Sendable () -> Void)?>(nil)

    init(_ config: DaemonConfig) {
        path = config.execRoot + "/dns.sock"
        binary = config.binaryDirectory + "/berth-dns"
        upstreams = config.upstreamResolvers()
        client = Mutex(try? NameServerClient(path: path, upstreams: upstreams))
        client.withLock { if let found = $0 { watch(found) } }
    }

    /// `handler` runs when berth-dns dies while berthd runs (after the client is dropped, so the
    /// next `prepare` starts a new one): the network service serves the running containers again.
    func onLoss(_ handler: @escaping @Sendable () -> Void) { lossHandler.withLock { $0 = handler } }

    func prepare() throws {
        try client.withLock { client in
            guard client == nil else { return }
            try NameServerProcess.start(binary, socket: path)
            let started = try NameServerClient(path: path, upstreams: upstreams)
            watch(started)
            client = started
        }
    }

    private func watch(_ watched: NameServerClient) {
        watched.watch { [weak self, weak watched] in
            guard let self else { return }
            let dropped = self.client.withLock { current -> Bool in
                guard let existing = current, existing === watched else { return false }
                current = nil
                return true
            }
            if dropped {
                EngineLog.logger.warning("berth-dns ended while berthd runs: starting it again")
                self.lossHandler.withLock { $0 }?()
            }
        }
    }

    private var running: NameServerClient? { client.withLock { $0 } }

    func add(_ member: EmbeddedDNS.Member) { running?.add(member) }

    func serve(_ socket: Int32, for container: String, upstreams: [IPv4Address], pid: Int32?) {
        guard let running else {
            close(socket)
            return
        }
        running.serve(socket, for: container, upstreams: upstreams, pid: pid)
    }

    func listen(_ listener: Int32, for container: String) {
        guard let running else {
            close(listener)
            return
        }
        running.listen(listener, for: container)
    }

    func isServing(_ container: String) -> Bool { running?.isServing(container) ?? false }

    func remove(container: String, network: String?) { running?.remove(container: container, network: network) }
}

enum NameServerProcess {
    /// Starts berth-dns in a session of its own (it outlives berthd), its standard descriptors on
    /// /dev/null, and waits (10 s at most) for the "OK" it writes on descriptor 3 once it listens.
    static func start(_ binary: String, socket: String) throws {
        let ready = try FileDescriptors.pipe()
        defer { close(ready.read) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        posix_spawn_file_actions_adddup2(&actions, ready.write, 3)
        _ = berth_spawn_closefrom(&actions, 4)
        var pid: pid_t = 0
        let spawned = Subprocess.spawn([binary, "--socket", socket], actions: &actions, newSession: true, pid: &pid)
        close(ready.write)
        guard spawned == 0 else { throw EngineError(.internalError, "start the embedded DNS (\(binary)): \(String(cString: strerror(spawned)))") }
        // Its exit (when no berthd is connected and nothing is left to serve) is reaped here.
        let child = pid
        Thread.detachNewThread { var status: Int32 = 0; while waitpid(child, &status, 0) < 0 && errno == EINTR {} }
        var answer: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while !answer.contains(UInt8(ascii: "\n")), ContinuousClock.now < deadline {
            var entry = pollfd(fd: ready.read, events: Int16(POLLIN), revents: 0)
            let left = ContinuousClock.now.duration(to: deadline).components
            guard poll(&entry, 1, Int32(max(1, left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000))) > 0 else { break }
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = buffer.withUnsafeMutableBytes { read(ready.read, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        let line = String(decoding: answer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard line == "OK" else {
            kill(child, SIGKILL)
            throw EngineError(.internalError, "start the embedded DNS (\(binary)): \(line.isEmpty ? "it did not answer within 10 seconds" : line)")
        }
    }
}
