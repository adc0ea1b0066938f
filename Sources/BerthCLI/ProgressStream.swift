import BerthAPI
import BerthEngine
import BerthRegistry
import BerthSystem
import Foundation
import Glibc

/// Docker's JSON messages (pull, push, load) shown as docker shows them: per-layer bars
/// redrawn in place on a terminal, one line per state change otherwise. An `error` message ends
/// the stream and becomes the command's failure. Ctrl-C ends the process and so the connection.
enum ProgressStream {
    static func run(quiet: Bool, to fd: Int32, request: (_ onData: ([UInt8]) throws -> Void) throws -> Void) throws {
        var renderer = ProgressRenderer(mode: isatty(fd) == 1 ? .terminal : .plain)
        var failure: String?
        var pending: [UInt8] = []
        try request { bytes in
            pending += bytes
            while let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(line)) else { continue }
                if let error = value["errorDetail"]?["message"]?.string ?? value["error"]?.string { failure = error; continue }
                // Text the daemon means as output ("Loaded image: …"), shown even when quiet.
                if let text = value["stream"]?.string { try? FileDescriptors.writeAll(fd, Array(text.utf8)); continue }
                guard !quiet, let message = try? JSONDecoder().decode(ProgressMessage.self, from: Data(line)) else { continue }
                let text = renderer.render(message)
                if !text.isEmpty { try? FileDescriptors.writeAll(fd, Array(text.utf8)) }
            }
        }
        if let failure { throw CLIError.message("Error response from daemon: \(failure)", code: 1) }
    }
}
