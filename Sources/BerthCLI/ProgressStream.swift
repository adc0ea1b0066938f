import BerthClient
import BerthAPITypes
import BerthSystem
import Foundation
import Glibc

/// Docker's JSON messages (pull, push, load) shown as docker shows them: per-layer bars
/// redrawn in place on a terminal, one line per state change otherwise. An `error` message ends
/// the stream and becomes the command's failure. Ctrl-C ends the process and so the connection.
enum ProgressStream {
    static func run(quiet: Bool, to fd: Int32, request: (_ onLine: (JSONValue, Data) throws -> Void) throws -> Void) throws {
        var renderer = ProgressRenderer(mode: isatty(fd) == 1 ? .terminal : .plain)
        var failure: String?
        try request { value, line in
            if let error = value["errorDetail"]?["message"]?.string ?? value["error"]?.string { failure = error; return }
            // Text the daemon means as output ("Loaded image: …"), shown even when quiet.
            if let text = value["stream"]?.string { try? FileDescriptors.writeAll(fd, Array(text.utf8)); return }
            guard !quiet, let message = try? JSONDecoder().decode(ProgressMessage.self, from: line) else { return }
            let text = renderer.render(message)
            if !text.isEmpty { try? FileDescriptors.writeAll(fd, Array(text.utf8)) }
        }
        if let failure { throw CLIError.message("Error response from daemon: \(failure)", code: 1) }
    }
}
