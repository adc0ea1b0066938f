import BerthSystem
import Dispatch
import Foundation
import Synchronization
import Glibc

/// Splits Docker's multiplexed stream (8-byte headers: stream, 0, 0, 0, big-endian length) onto
/// stdout and stderr; a TTY stream is raw bytes for stdout.
final class StreamDemuxer {
    let tty: Bool
    private var pending: [UInt8] = []

    init(tty: Bool) { self.tty = tty }

    func feed(_ bytes: [UInt8]) {
        guard !tty else { write(1, bytes[...]); return }
        pending += bytes
        while pending.count >= 8 {
            let length = Int(pending[4]) << 24 | Int(pending[5]) << 16 | Int(pending[6]) << 8 | Int(pending[7])
            guard pending.count >= 8 + length else { return }
            write(pending[0] == 2 ? 2 : 1, pending[8..<(8 + length)])
            pending.removeFirst(8 + length)
        }
    }

    private func write(_ fd: Int32, _ bytes: ArraySlice<UInt8>) {
        try? FileDescriptors.writeAll(fd, Array(bytes))
    }
}

/// A hijacked connection's two directions: stdin to the daemon on a thread (then a write
/// half-close, so the container sees EOF), the daemon's output to stdout/stderr until it ends.
enum AttachedStreams {
    /// `detachKeys` (on a terminal): typing them ends the attachment and leaves the container
    /// running, as the docker CLI does it on its side of the connection. Returns whether they did.
    @discardableResult
    static func pump(fd: Int32, pending: [UInt8], tty: Bool, stdin: Bool, detachKeys: [UInt8] = []) -> Bool {
        let detached = DetachFlag()
        if stdin {
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 32 * 1024)
                var matched = 0
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    var forward: [UInt8] = []
                    for byte in buffer[0..<count] {
                        guard !detachKeys.isEmpty else { forward.append(byte); continue }
                        if byte == detachKeys[matched] {
                            matched += 1
                            if matched == detachKeys.count {
                                _ = try? FileDescriptors.writeAll(fd, forward)
                                detached.set()
                                shutdown(fd, Int32(SHUT_RDWR))
                                return
                            }
                            continue
                        }
                        forward += detachKeys[0..<matched]
                        matched = 0
                        if byte == detachKeys[0] { matched = 1 } else { forward.append(byte) }
                    }
                    if (try? FileDescriptors.writeAll(fd, forward)) == nil { return }
                }
                shutdown(fd, Int32(SHUT_WR))
            }
        }
        let demuxer = StreamDemuxer(tty: tty)
        if !pending.isEmpty { demuxer.feed(pending) }
        while let chunk = try? FileDescriptors.read(fd), !chunk.isEmpty { demuxer.feed(chunk) }
        return detached.isSet
    }
}

/// Set by the stdin thread when the detach keys matched, read once the output has ended.
private final class DetachFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// The terminal in raw mode for `-it`, restored on exit; window size for resizes.
final class RawTerminal: Sendable {
    /// The terminal's settings before `enable`, while raw mode is on.
    private let saved = Mutex<termios?>(nil)

    static var isTerminal: Bool { isatty(0) == 1 }

    func enable() {
        var original = termios()
        guard isatty(0) == 1, tcgetattr(0, &original) == 0 else { return }
        var raw = original
        cfmakeraw(&raw)
        raw.c_oflag |= tcflag_t(OPOST)   // keep "\n" → "\r\n" for our own messages
        tcsetattr(0, TCSANOW, &raw)
        saved.withLock { $0 = original }
    }

    func restore() {
        saved.withLock { saved in
            guard var original = saved else { return }
            tcsetattr(0, TCSANOW, &original)
            saved = nil
        }
    }

    /// Calls `handler` on every window size change (SIGWINCH), for the rest of the process.
    static func onResize(_ handler: @escaping @Sendable () -> Void) {
        signal(SIGWINCH, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
        // The handler holds its source, which so lives as long as the process.
        source.setEventHandler { [source] in
            _ = source
            handler()
        }
        source.resume()
    }

    static func size() -> (rows: Int, columns: Int)? {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0 || ioctl(0, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return nil }
        return (Int(size.ws_row), Int(size.ws_col))
    }
}
