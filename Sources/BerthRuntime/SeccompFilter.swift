#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BerthOCI
import BerthSystem
import CBerthSystem
import CSeccomp
import Glibc

/// Compiles a runtime-spec seccomp section with libseccomp into a BPF program.
///
/// Compilation happens on the host at create (and exec), before the container waits for
/// `start`, and its result is cached (`SeccompProgramCache`): generating the program for Docker's
/// profile takes libseccomp milliseconds. The container process loads the program as its last
/// step before exec (`SeccompProgram.load`).
enum SeccompFilter {
    static func compile(_ spec: RuntimeSpec.Seccomp) throws -> SeccompProgram {
        let defaultAction = try Self.action(spec.defaultAction, errno: spec.defaultErrnoRet)
        guard let ctx = seccomp_init(defaultAction) else { throw RuntimeError.seccomp("seccomp_init failed") }
        defer { seccomp_release(ctx) }
        // Our own return codes: libseccomp maps errors to -errno only when asked.
        _ = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)
        for arch in spec.architectures ?? [] {
            let token = seccomp_arch_resolve_name(Self.libseccompArchName(arch))
            guard token != 0 else { throw RuntimeError.seccomp("unknown architecture \(arch)") }
            let rc = seccomp_arch_add(ctx, token)
            if rc != 0 && rc != -EEXIST { throw RuntimeError.seccomp("add architecture \(arch): \(String(cString: strerror(-rc)))") }
        }
        var flags: UInt32 = 0
        for flag in spec.flags ?? [] {
            switch flag {
            case "SECCOMP_FILTER_FLAG_TSYNC": flags |= BERTH_SECCOMP_FILTER_FLAG_TSYNC
            case "SECCOMP_FILTER_FLAG_LOG": flags |= BERTH_SECCOMP_FILTER_FLAG_LOG
            case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": flags |= BERTH_SECCOMP_FILTER_FLAG_SPEC_ALLOW
            default: throw RuntimeError.seccomp("unsupported flag \(flag)")
            }
        }
        for rule in spec.syscalls ?? [] {
            let action = try Self.action(rule.action, errno: rule.errnoRet)
            // libseccomp refuses rules whose action equals the default; they are no-ops anyway.
            if action == defaultAction { continue }
            let comparisons = try (rule.args ?? []).map(Self.comparison)
            // The same argument twice cannot be ANDed by libseccomp: make one rule per comparison (OR).
            let indexes = Set(comparisons.map(\.arg))
            let groups: [[scmp_arg_cmp]] = indexes.count == comparisons.count ? [comparisons] : comparisons.map { [$0] }
            for name in rule.names {
                let number = seccomp_syscall_resolve_name(name)
                // Unknown on this kernel/arch (e.g. a newer syscall): nothing to filter, as runc does.
                if number == __NR_SCMP_ERROR { continue }
                for group in groups {
                    var args = group
                    let rc = seccomp_rule_add_array(ctx, action, number, UInt32(args.count), &args)
                    if rc != 0 { throw RuntimeError.seccomp("add rule for \(name): \(String(cString: strerror(-rc)))") }
                }
            }
        }
        return SeccompProgram(instructions: Data(try export(ctx)), flags: flags)
    }

    /// libseccomp's version: part of a cached program's key, as it generated the program.
    static var libraryVersion: String {
        guard let version = seccomp_version() else { return "unknown" }
        return "\(version.pointee.major).\(version.pointee.minor).\(version.pointee.micro)"
    }

    /// The generated program, through a memfd (libseccomp 2.5 exports to a descriptor only).
    private static func export(_ ctx: scmp_filter_ctx) throws -> [UInt8] {
        let fd = berth_memfd("seccomp-bpf")
        guard fd >= 0 else { throw RuntimeError.seccomp("memfd: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let rc = seccomp_export_bpf(ctx, fd)
        if rc != 0 { throw RuntimeError.seccomp("generate filter: \(String(cString: strerror(-rc)))") }
        lseek(fd, 0, SEEK_SET)
        let bytes = try FileDescriptors.readAll(fd)
        guard !bytes.isEmpty, bytes.count % 8 == 0 else { throw RuntimeError.seccomp("generated filter has \(bytes.count) bytes") }
        return bytes
    }

    static func action(_ name: String, errno: UInt32?) throws -> UInt32 {
        switch name {
        case "SCMP_ACT_ALLOW": return 0x7fff_0000
        case "SCMP_ACT_ERRNO": return 0x0005_0000 | ((errno ?? UInt32(EPERM)) & 0xffff)
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return 0
        case "SCMP_ACT_KILL_PROCESS": return 0x8000_0000
        case "SCMP_ACT_TRAP": return 0x0003_0000
        case "SCMP_ACT_TRACE": return 0x7ff0_0000 | ((errno ?? UInt32(EPERM)) & 0xffff)
        case "SCMP_ACT_LOG": return 0x7ffc_0000
        case "SCMP_ACT_NOTIFY": throw RuntimeError.seccomp("SCMP_ACT_NOTIFY needs a listenerPath agent, which Berth does not support yet")
        default: throw RuntimeError.seccomp("unknown action \(name)")
        }
    }

    static func comparison(_ arg: RuntimeSpec.SyscallArg) throws -> scmp_arg_cmp {
        let op: scmp_compare
        switch arg.op {
        case "SCMP_CMP_NE": op = SCMP_CMP_NE
        case "SCMP_CMP_LT": op = SCMP_CMP_LT
        case "SCMP_CMP_LE": op = SCMP_CMP_LE
        case "SCMP_CMP_EQ": op = SCMP_CMP_EQ
        case "SCMP_CMP_GE": op = SCMP_CMP_GE
        case "SCMP_CMP_GT": op = SCMP_CMP_GT
        case "SCMP_CMP_MASKED_EQ": op = SCMP_CMP_MASKED_EQ
        default: throw RuntimeError.seccomp("unknown comparison \(arg.op)")
        }
        guard arg.index < 6 else { throw RuntimeError.seccomp("argument index \(arg.index) out of range (0-5)") }
        return scmp_arg_cmp(arg: UInt32(arg.index), op: op, datum_a: arg.value, datum_b: arg.valueTwo ?? 0)
    }

    /// `SCMP_ARCH_X86_64` → `x86_64`, the name libseccomp resolves.
    static func libseccompArchName(_ spec: String) -> String {
        let bare = spec.hasPrefix("SCMP_ARCH_") ? String(spec.dropFirst("SCMP_ARCH_".count)) : spec
        return bare.lowercased()
    }
}
