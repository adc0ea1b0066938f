#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BerthSystem
import CBerthSystem
import Glibc

/// A compiled seccomp filter: classic-BPF instructions (8 bytes each) and seccomp(2) flags.
/// Travels to the container process in the bootstrap request (base64 in its JSON).
struct SeccompProgram: Codable, Equatable {
    var instructions: Data
    var flags: UInt32

    /// Installs the program in the calling process. no_new_privs is the spec's choice alone
    /// (`process.noNewPrivileges`), as in runc: libseccomp's own loader would always set it.
    func load() throws {
        let rc = instructions.withUnsafeBytes { berth_seccomp_set_filter($0.baseAddress, UInt32($0.count / 8), flags) }
        if rc != 0 { throw RuntimeError.seccomp("load filter: \(String(cString: strerror(errno)))") }
    }
}
