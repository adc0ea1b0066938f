import BerthOCI
import Foundation
import Testing

@Suite("Runtime spec models")
struct RuntimeSpecTests {
    /// Every Linux section of config.json, with values a real bundle might carry.
    static let fullConfig = #"""
    {
      "ociVersion": "1.2.0",
      "process": {
        "terminal": true, "consoleSize": {"height": 25, "width": 80},
        "user": {"uid": 1, "gid": 1, "umask": 18, "additionalGids": [5, 6]},
        "args": ["sh"], "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/",
        "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "inheritable": [], "permitted": ["CAP_KILL"], "ambient": []},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": true, "apparmorProfile": "acme", "oomScoreAdj": 100, "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
        "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 4},
        "scheduler": {"policy": "SCHED_OTHER", "nice": 1}
      },
      "root": {"path": "rootfs", "readonly": true},
      "hostname": "slartibartfast", "domainname": "example.org",
      "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/data", "type": "bind", "source": "/volumes/data", "options": ["rbind", "ro"],
         "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}], "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}
      ],
      "hooks": {
        "prestart": [{"path": "/usr/bin/fix-mounts", "args": ["fix-mounts", "arg1"], "env": ["key1=value1"], "timeout": 5}],
        "createRuntime": [{"path": "/usr/bin/a"}], "createContainer": [{"path": "/usr/bin/b"}],
        "startContainer": [{"path": "/usr/bin/c"}], "poststart": [{"path": "/usr/bin/d"}], "poststop": [{"path": "/usr/bin/e"}]
      },
      "annotations": {"com.example.key1": "value1"},
      "linux": {
        "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"}, {"type": "ipc"}, {"type": "uts"},
                       {"type": "mount"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 32000}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 32000}],
        "timeOffsets": {"monotonic": {"secs": 172800, "nanosecs": 0}},
        "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}],
        "netDevices": {"eth0": {"name": "ns1"}},
        "cgroupsPath": "/myRuntime/myContainer",
        "resources": {
          "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}],
          "memory": {"limit": 536870912, "reservation": 536870912, "swap": 536870912, "kernel": -1, "kernelTCP": -1,
                     "swappiness": 0, "disableOOMKiller": false, "useHierarchy": true, "checkBeforeUpdate": true},
          "cpu": {"shares": 1024, "quota": 1000000, "burst": 1000000, "period": 500000, "realtimeRuntime": 950000,
                  "realtimePeriod": 1000000, "cpus": "2-3", "mems": "0-7", "idle": 0},
          "pids": {"limit": 32771},
          "blockIO": {"weight": 10, "leafWeight": 10,
                      "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300}],
                      "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                      "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]},
          "hugepageLimits": [{"pageSize": "2MB", "limit": 9223372036854772000}],
          "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
          "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
          "unified": {"io.max": "259:0 rbps=2097152"}
        },
        "rootfsPropagation": "slave",
        "seccomp": {
          "defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
          "flags": ["SECCOMP_FILTER_FLAG_LOG"],
          "syscalls": [{"names": ["getcwd", "chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                        "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]}]
        },
        "sysctl": {"net.ipv4.ip_forward": "1"},
        "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
        "mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
        "intelRdt": {"closID": "guaranteed_group", "l3CacheSchema": "L3:0=7f0;1=1f", "memBwSchema": "MB:0=20;1=70"},
        "personality": {"domain": "LINUX"},
        "memoryPolicy": {"mode": "MPOL_INTERLEAVE", "nodes": "0-3", "flags": ["MPOL_F_STATIC_NODES"]}
      }
    }
    """#

    @Test("every Linux field survives a decode/encode round-trip")
    func roundTripFull() throws {
        let data = Data(Self.fullConfig.utf8)
        let spec = try JSONDecoder().decode(RuntimeSpec.self, from: data)
        #expect(spec.linux?.resources?.memory?.limit == 536_870_912)
        #expect(spec.linux?.namespaces?.count == 8)
        #expect(spec.hooks?.prestart?.first?.timeout == 5)
        #expect(try SpecExamples.sameJSON(data, JSONEncoder().encode(spec)))
    }

    @Test("the runtime spec's own config.json examples round-trip", .enabled(if: SpecExamples.available, SpecExamples.absentReason))
    func roundTripSpecExamples() throws {
        // Complete documents only: some blocks are fragments or carry placeholders.
        let examples = try SpecExamples.requireBlocks("oci-runtime/config.md") {
            ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?["ociVersion"] != nil
        }
        for example in examples {
            let data = Data(example.utf8)
            let spec = try JSONDecoder().decode(RuntimeSpec.self, from: data)
            #expect(try SpecExamples.sameJSON(data, JSONEncoder().encode(spec)), "\(example.prefix(80))")
        }
    }

    @Test("state.json round-trips")
    func state() throws {
        let json = #"{"ociVersion":"1.2.0","id":"oci-container1","status":"running","pid":4422,"bundle":"/containers/redis","annotations":{"myKey":"myValue"}}"#
        let state = try JSONDecoder().decode(RuntimeState.self, from: Data(json.utf8))
        #expect(state.status == .running)
        #expect(try SpecExamples.sameJSON(Data(json.utf8), JSONEncoder().encode(state)))
    }

    @Test("malformed configs fail to decode", arguments: [
        #"{"process": {}}"#,
        #"{"ociVersion": "1.2.0", "linux": {"namespaces": [{"type": "bogus"}]}}"#,
        #"{"ociVersion": "1.2.0", "process": {"user": {"uid": -1, "gid": 0}, "cwd": "/"}}"#,
        #"{"ociVersion": 1}"#,
        "not json",
    ])
    func malformed(json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(RuntimeSpec.self, from: Data(json.utf8)) }
    }
}
