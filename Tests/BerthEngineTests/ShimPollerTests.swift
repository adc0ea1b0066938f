@testable import BerthEngine
import BerthSystem
import Foundation
import Glibc
import Testing

/// The one thread that talks to every shim: replies, a shim that closes, a shim that never
/// answers (timeouts), and waiting for a shim to go (`HOLD`), against a fake shim socket.
@Suite("shim poller")
struct ShimPollerTests {
    /// A fake shim: a listening socket in a temporary directory.
    final class FakeShim: Sendable {
        let directory: String
        let listener: Int32

        init() throws {
            directory = NSTemporaryDirectory() + "berth-poller-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            listener = try UnixSocket.listen(directory + "/shim.sock")
        }

        /// Accepts one connection and reads its line, on a thread of its own (a blocking accept
        /// on the cooperative pool would starve the client it waits for).
        func accept() async -> (fd: Int32, line: String) {
            let listener = self.listener
            return await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    let fd = Glibc.accept(listener, nil, nil)
                    var bytes: [UInt8] = []
                    var byte: UInt8 = 0
                    while read(fd, &byte, 1) == 1, byte != 10 { bytes.append(byte) }
                    continuation.resume(returning: (fd, String(decoding: bytes, as: UTF8.self)))
                }
            }
        }

        deinit {
            close(listener)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test("a reply comes back as the answer to its request; OK's prefix is dropped")
    func reply() async throws {
        let shim = try FakeShim()
        let client = ShimClient(directory: shim.directory)
        async let answer = client.request(.kill(signal: 15, all: true))
        let (fd, line) = await shim.accept()
        #expect(line == "KILL 15 all")
        _ = "OK 42\n".withCString { write(fd, $0, 6) }
        #expect(try await answer == "42")
        close(fd)
    }

    @Test("HOLD returns when the shim's connection ends, and after its timeout when the shim stays", .timeLimit(.minutes(1)))
    func departure() async throws {
        let shim = try FakeShim()
        let client = ShimClient(directory: shim.directory)
        let gone = Task { await client.departure(timeout: .seconds(30)) }
        let (fd, line) = await shim.accept()
        #expect(line == "HOLD")
        close(fd)
        await gone.value

        let staying = Task { await client.departure(timeout: .milliseconds(200)) }
        let (held, _) = await shim.accept()
        // Only the timeout can end this wait: the connection stays open until after it.
        await staying.value
        close(held)
        // No shim at all: at once.
        await ShimClient(directory: shim.directory + "/none").departure(timeout: .seconds(30))
    }
}
