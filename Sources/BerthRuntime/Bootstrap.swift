import BerthOCI
import BerthSystem
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `berth-runtime init FD`: the sealed helper between the runtime and a container process.
///
/// Not a user command: the runtime starts it with a request in the memfd `FD` (see
/// `NamespaceEntry`). It never returns.
public enum Bootstrap {
    public static func run(requestFD: Int32) -> Never {
        let request: BootstrapRequest
        do {
            let bytes = try FileDescriptors.readAll(requestFD)
            close(requestFD)
            request = try JSONCoding.decoder.decode(BootstrapRequest.self, from: Data(bytes))
        } catch {
            let message = Array("berth-runtime init: no valid request on fd \(requestFD): \(error)\n".utf8)
            _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            exit(1)
        }
        start(request)
    }

    /// The helper's work, in the re-executed copy or, when the runtime already runs from a
    /// protected binary, in a plain fork of it.
    static func start(_ request: BootstrapRequest) -> Never {
        RuntimeLog.shared = RuntimeLog(fd: request.logFD, format: RuntimeLog.Format(rawValue: request.logFormat) ?? .text,
                                       debug: request.debug)
        let channel = SyncChannel(fd: request.channelFD)
        switch request.mode {
        case .create:
            let initProcess = ContainerInit(request: request, channel: channel)
            request.namespaces.enter(channel) { initProcess.run() }
        case .exec:
            request.namespaces.enter(channel) { Runtime.execBody(request, channel: channel) }
        }
    }
}
