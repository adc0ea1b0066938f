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
    var instructions: [UInt8]
    var flags: UInt32

    init(instructions: [UInt8], flags: UInt32) {
        self.instructions = instructions
        self.flags = flags
    }

    /// Installs the program in the calling process. no_new_privs is the spec's choice alone
    /// (`process.noNewPrivileges`), as in runc: libseccomp's own loader would always set it.
    func load() throws {
        let rc = instructions.withUnsafeBytes { berth_seccomp_set_filter($0.baseAddress, UInt32($0.count / 8), flags) }
        if rc != 0 { throw RuntimeError.seccomp("load filter: \(String(cString: strerror(errno)))") }
    }

    private enum CodingKeys: String, CodingKey { case instructions, flags }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let bytes = Data(base64Encoded: try container.decode(String.self, forKey: .instructions)) else {
            throw RuntimeError.seccomp("the seccomp program is not base64")
        }
        instructions = Array(bytes)
        flags = try container.decode(UInt32.self, forKey: .flags)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Data(instructions).base64EncodedString(), forKey: .instructions)
        try container.encode(flags, forKey: .flags)
    }
}
