import BerthOCI

/// Everything the sealed helper (`berth-runtime init`) needs to start a container process:
/// written by the runtime into a memfd the helper inherits, because the helper is a new
/// program image and shares no memory with the runtime.
struct BootstrapRequest: Codable {
    enum Mode: String, Codable {
        /// The container's init: rootfs, then wait on the exec FIFO.
        case create
        /// Another process in a running container.
        case exec
    }

    var mode: Mode
    var id: String
    var spec: RuntimeSpec
    /// For `exec`: the process to run (create uses `spec.process`).
    var process: RuntimeSpec.Process?
    var bundle: String
    var rootfs: String
    var noPivot = false
    var newKeyring = true
    var preserveFDs: Int32 = 0
    /// The spec's seccomp filter, compiled on the host (`SeccompProgramCache`).
    var seccomp: SeccompProgram?
    var namespaces: NamespaceEntry
    /// Inherited descriptors, by number.
    var channelFD: Int32
    var fifoFD: Int32?
    var logFD: Int32
    var logFormat: String
    var debug: Bool

    /// Compiles the spec's seccomp profile (or takes it from the cache) and drops the profile
    /// from the request: the helper loads only the program, and decoding Docker's ~360 syscall
    /// names again cost it about a millisecond.
    mutating func compileSeccomp(_ cache: SeccompProgramCache) throws {
        seccomp = try spec.linux?.seccomp.map { try cache.program(for: $0) }
        spec.linux?.seccomp = nil
    }
}
