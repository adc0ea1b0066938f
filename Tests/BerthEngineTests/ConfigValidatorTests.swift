@testable import BerthEngine
import BerthArchive
import BerthSystem
import Foundation
import Testing

@Suite("create and update validation")
struct ConfigValidatorTests {
    private func refusal(_ body: String) -> String? {
        do {
            try ConfigValidator.validateCreate(try JSONValue(parsing: Array(body.utf8)))
            return nil
        } catch let error as EngineError {
            return error.kind == .badRequest ? error.message : "not a 400: \(error.message)"
        } catch {
            return "\(error)"
        }
    }

    @Test func typesFollowGosJSONDecoding() {
        #expect(refusal(#"{"Image":"b","HostConfig":"x"}"#) == "json: cannot unmarshal string into Go struct field CreateRequest.HostConfig of type container.HostConfig")
        #expect(refusal(#"{"Image":"b","HostConfig":{"NanoCpus":1e30}}"#) == "json: cannot unmarshal number 1e+30 into Go struct field HostConfig.NanoCpus of type int64")
        #expect(refusal(#"{"Image":"b","HostConfig":{"Memory":1.5}}"#)?.contains("HostConfig.Memory of type int64") == true)
        #expect(refusal(#"{"Image":"b","HostConfig":{"BlkioWeight":65536}}"#)?.contains("uint16") == true)
        #expect(refusal(#"{"Image":"b","Cmd":"sh -c true","Entrypoint":["a"],"Labels":{"k":"v"},"HostConfig":null}"#) == nil)
        #expect(refusal(#"{"Image":"b","Labels":{"k":1}}"#)?.contains("Labels") == true)
        #expect(refusal(#"{"Image":"b","HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":"3"}}}"#)?.contains("MaximumRetryCount") == true)
        // Empty lists and objects of unimplemented fields are what clients send by default.
        #expect(refusal(#"{"Image":"b","HostConfig":{"PortBindings":{},"Devices":[],"Mounts":null,"Links":null}}"#) == nil)
        #expect(refusal(#"{"Image":"b","HostConfig":{"Devices":[{"PathOnHost":"/dev/null"}]}}"#) == nil)
        #expect(refusal(#"{"Image":"b","HostConfig":{"StorageOpt":{"size":"1G"}}}"#)?.contains("HostConfig.StorageOpt") == true)
    }

    @Test func limitsFollowDockerd() {
        #expect(refusal(#"{"HostConfig":{"Memory":1}}"#) == "Minimum memory limit allowed is 6MB")
        #expect(refusal(#"{"HostConfig":{"Memory":8388608,"MemorySwap":7000000}}"#)?.hasPrefix("Minimum memoryswap limit") == true)
        #expect(refusal(#"{"HostConfig":{"NanoCpus":1,"CpuQuota":5000}}"#)?.hasPrefix("Conflicting options") == true)
        #expect(refusal(#"{"HostConfig":{"CpuQuota":10}}"#)?.hasPrefix("CPU cfs quota") == true)
        #expect(refusal(#"{"HostConfig":{"CpuQuota":17592186044416}}"#)?.hasPrefix("CPU cfs quota can not be more than") == true)
        #expect(refusal(#"{"HostConfig":{"CpuRealtimePeriod":1000,"CpuRealtimeRuntime":2000}}"#) == "cpu real-time runtime cannot be higher than cpu real-time period")
        #expect(refusal(#"{"HostConfig":{"Sysctls":{"net.core.somaxconn":"1024","kernel.shmmax":"1","fs.mqueue.msg_max":"20"}}}"#) == nil)
        #expect(refusal(#"{"HostConfig":{"Sysctls":{"vm.swappiness":"1"}}}"#)?.hasPrefix(#"sysctl "vm.swappiness" is not allowed"#) == true)
        #expect(refusal(#"{"HostConfig":{"IpcMode":"host","Sysctls":{"kernel.sem":"1"}}}"#)?.contains("--ipc host") == true)
        #expect(refusal(#"{"HostConfig":{"UTSMode":"host"},"Hostname":"x"}"#) == "conflicting options: hostname and the UTS mode")
        #expect(refusal(#"{"HostConfig":{"SecurityOpt":["label=disable","apparmor=unconfined","no-new-privileges:true","seccomp=unconfined"]}}"#) == nil)
        #expect(refusal(#"{"HostConfig":{"SecurityOpt":["no-new-privileges=maybe"]}}"#) == #"invalid --security-opt 2: "no-new-privileges=maybe""#)
        #expect(refusal(#"{"HostConfig":{"MemorySwappiness":101}}"#)?.contains("swappiness") == true)
        #expect(refusal(#"{"HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":2}}}"#)?.contains("on-failure") == true)
        #expect(refusal(#"{"HostConfig":{"CpusetCpus":"0-"}}"#) == "Invalid value 0- for cpuset cpus")
        #expect(refusal(#"{"HostConfig":{"CpusetCpus":"60000"}}"#)?.hasPrefix("Requested CPUs are not available") == true)
        #expect(refusal(#"{"HostConfig":{"CpusetCpus":"0"}}"#) == nil)
        #expect(refusal(#"{"HostConfig":{"Ulimits":[{"Name":"nofile","Soft":-1,"Hard":-1}]}}"#) == nil)
    }

    @Test func cpusetLists() {
        #expect(CPUList.parse("0-3,5") == [0, 1, 2, 3, 5])
        #expect(CPUList.parse("3-1") == nil)
        #expect(CPUList.parse("0,,1") == nil)
        #expect(CPUList.parse("0-99999999") == nil)
    }

    @Test func numbersFromClientsNeverTrap() throws {
        for text in ["1e30", "-1e30", "1.5", "9223372036854775808", "1e19"] {
            let value = try JSONValue(parsing: Array(text.utf8))
            #expect(value.int == nil, "\(text)")
        }
    }

    @Test("userns-remap settings resolve through passwd, group, subuid and subgid as dockerd reads them")
    func remapResolution() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/remap-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var files = UserNamespaceRemap.Files()
        files.passwd = dir + "/passwd"
        files.group = dir + "/group"
        files.subuid = dir + "/subuid"
        files.subgid = dir + "/subgid"
        try "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n".write(toFile: files.passwd, atomically: true, encoding: .utf8)
        try "root:x:0:\nalice:x:1000:\nstaff:x:50:\n".write(toFile: files.group, atomically: true, encoding: .utf8)
        try "alice:200000:65536\n".write(toFile: files.subuid, atomically: true, encoding: .utf8)
        try "alice:300000:1000\nstaff:400000:65536\n".write(toFile: files.subgid, atomically: true, encoding: .utf8)
        let alice = try UserNamespaceRemap.resolve("alice", files: files, createDefault: false)
        #expect(alice.shift == OwnerShift(uid: 200_000, gid: 300_000, uidSize: 65536, gidSize: 1000))
        let byID = try UserNamespaceRemap.resolve("1000:staff", files: files, createDefault: false)
        #expect(byID.shift == OwnerShift(uid: 200_000, gid: 400_000, uidSize: 65536, gidSize: 65536))
        #expect(byID.dataRoot(under: "/var/lib/berth") == "/var/lib/berth/200000.400000")
        #expect(throws: EngineError.self) { try UserNamespaceRemap.resolve("bob", files: files, createDefault: false) }
        #expect(throws: EngineError.self) { try UserNamespaceRemap.resolve("root", files: files, createDefault: false) }
        #expect(alice.shift.host(uid: 0) == 200_000 && alice.shift.container(uid: 200_005) == 5 && alice.shift.container(uid: 7) == 65534)
    }
}
