import BerthOCI
import Foundation
import Testing

@Suite("Docker seccomp profile conversion")
struct DockerSeccompProfileTests {
    static let profile = #"""
    {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
     "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                 {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
     "syscalls": [
       {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
       {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
       {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
       {"names": ["bpf", "clone3"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
       {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
        "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}},
       {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
     ]}
    """#

    func names(_ spec: RuntimeSpec.Seccomp) -> [String] { (spec.syscalls ?? []).flatMap(\.names) }

    @Test("rules apply by capability, architecture and kernel version")
    func conditional() throws {
        let profile = try JSONDecoder().decode(DockerSeccompProfile.self, from: Data(Self.profile.utf8))
        let plain = profile.runtimeSpec(capabilities: ["CAP_KILL"], architecture: "amd64", kernelVersion: "6.1")
        #expect(plain.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        #expect(names(plain) == ["read", "write", "ptrace", "arch_prctl", "clone", "clone3"])
        #expect(plain.syscalls?.last?.errnoRet == 38)
        #expect(plain.defaultErrnoRet == 1)

        let admin = profile.runtimeSpec(capabilities: ["CAP_SYS_ADMIN"], architecture: "amd64", kernelVersion: "6.1")
        #expect(names(admin) == ["read", "write", "ptrace", "arch_prctl", "bpf", "clone3"])

        let arm = profile.runtimeSpec(capabilities: [], architecture: "arm64", kernelVersion: "4.4")
        #expect(arm.architectures == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"])
        #expect(names(arm) == ["read", "write", "clone", "clone3"])
    }

    @Test("Docker's shipped default profile converts", .enabled(if: FileManager.default.fileExists(atPath: SpecExamples.specsRoot + "/security/seccomp-default.json")))
    func dockerDefault() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: SpecExamples.specsRoot + "/security/seccomp-default.json"))
        let profile = try JSONDecoder().decode(DockerSeccompProfile.self, from: data)
        let spec = profile.runtimeSpec(capabilities: ["CAP_CHOWN", "CAP_KILL"], architecture: "amd64", kernelVersion: "6.1")
        #expect(spec.defaultAction == "SCMP_ACT_ERRNO")
        #expect(names(spec).contains("read"))
        #expect(!names(spec).contains("bpf"))
        #expect(names(spec).contains("arch_prctl"))
    }
}
