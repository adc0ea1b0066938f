import BerthOCI
import Foundation

/// `HostConfig.SecurityOpt`, read as dockerd reads it: `no-new-privileges[=BOOL]`,
/// `seccomp=unconfined|PROFILE-JSON`, `label=…` (SELinux; accepted, as dockerd does on a host
/// without SELinux), `apparmor=…` (accepted on a host without AppArmor, where dockerd ignores
/// it too), `writable-cgroups=false`; anything else is refused with dockerd's words. `:` is
/// accepted as the separator, as dockerd still does.
struct SecurityOptions: Sendable {
    var noNewPrivileges = false
    /// The profile a container names; nil for the daemon's default.
    var seccomp: Seccomp?

    enum Seccomp: Sendable {
        case unconfined
        case profile(DockerSeccompProfile)
    }

    /// Whether this host enforces AppArmor (Berth applies no AppArmor profile).
    static let hostHasAppArmor = (try? String(contentsOfFile: "/sys/module/apparmor/parameters/enabled", encoding: .utf8))?.hasPrefix("Y") ?? false

    init(_ options: [String]) throws {
        for option in options {
            if option == "no-new-privileges" { noNewPrivileges = true; continue }
            if option == "disable" { continue }
            let separator: Character = option.contains("=") ? "=" : ":"
            let parts = option.split(separator: separator, maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else { throw EngineError(.badRequest, "invalid --security-opt 1: \"\(option)\"") }
            let (key, value) = (parts[0], parts[1])
            switch key {
            case "label":
                continue
            case "apparmor":
                if Self.hostHasAppArmor, value != "unconfined" {
                    throw EngineError(.badRequest, "AppArmor profiles are not supported by Berth (--security-opt \(option)); use apparmor=unconfined")
                }
            case "seccomp":
                if value == "unconfined" { seccomp = .unconfined; continue }
                do { seccomp = .profile(try JSONDecoder().decode(DockerSeccompProfile.self, from: Data(value.utf8))) } catch {
                    throw EngineError(.badRequest, "Decoding seccomp profile failed: \(Self.describe(error))")
                }
            case "no-new-privileges":
                guard let flag = Bool(goParsing: value) else { throw EngineError(.badRequest, "invalid --security-opt 2: \"\(option)\"") }
                noNewPrivileges = flag
            case "writable-cgroups":
                guard let flag = Bool(goParsing: value) else { throw EngineError(.badRequest, "invalid --security-opt 2: \"\(option)\"") }
                if flag { throw EngineError(.badRequest, "writable cgroups (--security-opt \(option)) are not supported by Berth") }
            default:
                throw EngineError(.badRequest, "invalid --security-opt 2: \"\(option)\"")
            }
        }
    }

    /// A decoding error in a line a user can act on (Foundation's own description is a dump).
    private static func describe(_ error: any Error) -> String {
        switch error {
        case let DecodingError.dataCorrupted(context): return context.underlyingError.map { "\($0)" } ?? context.debugDescription
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case let DecodingError.keyNotFound(key, _): return "missing field \(key.stringValue)"
        default: return "\(error)"
        }
    }
}
