import BerthSystem
import Foundation
import Synchronization

/// Every exchange berthd has with its shims (one request line out, one reply line back) runs on
/// one thread that polls all their sockets. A `WAIT` lasts as long as the container runs: with
/// a thread per request, each running container held one; now none do.
final class ShimPoller: Sendable {
    static let shared = ShimPoller()

    /// A request handed to the poll thread.
    private struct Exchange: Sendable {
        let fd: Int32
        let request: [UInt8]
        let deadline: ContinuousClock.Instant?
        let continuation: CheckedContinuation<String, any Error>
    }

    private let queued = Mutex<[Exchange]>([])
    /// Wakes the poll thread when an exchange is queued.
    private let waker = try! WakePipe()

    private init() {
        let thread = Thread { [self] in self.run() }
        thread.name = "berthd shim poller"
        thread.start()
    }

    /// Sends `line` to the shim listening at `path` and returns its reply line (without the
    /// newline); with a `timeout`, gives up after that long (`ShimPoller.TimedOut`).
    func exchange(_ path: String, _ line: String, timeout: Duration? = nil) async throws -> String {
        let fd = try UnixSocket.connect(path)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let deadline = timeout.map { ContinuousClock.now + $0 }
        return try await withCheckedThrowingContinuation { continuation in
            queued.withLock { $0.append(Exchange(fd: fd, request: Array((line + "\n").utf8), deadline: deadline, continuation: continuation)) }
            waker.wake()
        }
    }

    /// An exchange that got no reply within its timeout.
    struct TimedOut: Error {}

    /// One exchange in progress on the poll thread.
    private struct Pending {
        var unsent: ArraySlice<UInt8>
        var reply: [UInt8] = []
        let deadline: ContinuousClock.Instant?
        let continuation: CheckedContinuation<String, any Error>
    }

    private func run() {
        var pending: [Int32: Pending] = [:]
        var buffer = [UInt8](repeating: 0, count: 4096)
        func finish(_ fd: Int32, _ result: Result<String, any Error>) {
            guard let entry = pending.removeValue(forKey: fd) else { return }
            close(fd)
            entry.continuation.resume(with: result)
        }
        while true {
            var fds = [waker.pollEntry]
            for (fd, entry) in pending {
                fds.append(pollfd(fd: fd, events: Int16(entry.unsent.isEmpty ? POLLIN : POLLOUT), revents: 0))
            }
            let now = ContinuousClock.now
            let nearest = pending.values.compactMap(\.deadline).min()
            let wait = nearest.map { deadline -> Int32 in
                let left = now.duration(to: deadline).components
                return Int32(clamping: max(0, left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000 + 1))
            } ?? -1
            guard poll(&fds, nfds_t(fds.count), wait) >= 0 || errno == EINTR else { continue }
            if nearest != nil {
                let after = ContinuousClock.now
                for (fd, entry) in pending where entry.deadline.map({ $0 <= after }) ?? false { finish(fd, .failure(TimedOut())) }
            }
            if fds[0].revents != 0 {
                waker.drain()
                for exchange in queued.withLock({ queue in defer { queue.removeAll() }; return queue }) {
                    pending[exchange.fd] = Pending(unsent: exchange.request[...], deadline: exchange.deadline, continuation: exchange.continuation)
                }
            }
            for entry in fds.dropFirst() where entry.revents != 0 {
                let fd = entry.fd
                guard var state = pending[fd] else { continue }
                if !state.unsent.isEmpty {
                    let sent = state.unsent.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if sent < 0 && errno != EAGAIN && errno != EINTR {
                        finish(fd, .failure(EngineError(.internalError, "the container's shim closed the connection")))
                        continue
                    }
                    if sent > 0 { state.unsent = state.unsent.dropFirst(sent) }
                    pending[fd] = state
                    continue
                }
                let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                guard count > 0 else {
                    finish(fd, .failure(EngineError(.internalError, "the container's shim closed the connection")))
                    continue
                }
                state.reply += buffer[0..<count]
                if let newline = state.reply.firstIndex(of: 10) {
                    pending[fd] = state
                    finish(fd, .success(String(decoding: state.reply[..<newline], as: UTF8.self)))
                } else {
                    pending[fd] = state
                }
            }
        }
    }
}
