import BerthTestSupport
import Foundation
import Testing

/// Where this host's v1 controllers keep a Berth container's cgroup.
private enum CgroupV1Files {
    static let available = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.limit_in_bytes")

    static func read(_ controller: String, _ id: String, _ file: String) -> String {
        ((try? String(contentsOfFile: "/sys/fs/cgroup/\(controller)/berth/\(id)/\(file)", encoding: .utf8)) ?? "<missing>")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A block device of the host's, for the throttles (`/dev/loop0` where there is one).
    static let blockDevice: String? = {
        for name in ["loop0", "vda", "sda", "nvme0n1", "xvda"] {
            var info = stat()
            if stat("/dev/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFBLK { return "/dev/" + name }
        }
        return nil
    }()
}

/// `docker run`'s resource limits, namespaces and devices: what lands in the container's
/// cgroup and namespaces, what the kernel enforces, what `update` and `stats` show, and the
/// refusals of bad input at create.
@Suite("resource limits, devices and namespaces")
struct ResourceLimitTests {
    @Test("limits land in the container's cgroup (v1) and process, as the docker CLI sets them",
          .enabled(if: CgroupV1Files.available, "this host's controllers are not on cgroup v1 (v2 writes: CgroupFakeTreeTests)"))
    func limitsReachTheCgroup() throws {
        let daemon = try DaemonHarness("limits")
        defer { daemon.shutdown() }
        var arguments = ["run", "-d", "--name", "limited", "--memory", "64m", "--memory-swap", "128m", "--memory-reservation", "32m",
                         "--memory-swappiness", "10", "--cpu-shares", "512", "--cpu-period", "50000", "--cpu-quota", "25000",
                         "--cpuset-cpus", "0", "--pids-limit", "50", "--ulimit", "nofile=1024:2048", "--shm-size", "16m",
                         "--oom-score-adj", "100", "--device", "/dev/null:/dev/mynull:rw", "--device-cgroup-rule", "c 10:200 rwm"]
        if let block = CgroupV1Files.blockDevice {
            arguments += ["--device-read-bps", block + ":1mb", "--device-write-iops", block + ":100"]
        }
        let run = daemon.docker(arguments + ["busybox", "sleep", "600"])
        #expect(run.status == 0, "\(run.stderr)")
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let expected: [(String, String, String)] = [
            ("memory", "memory.limit_in_bytes", "67108864"), ("memory", "memory.memsw.limit_in_bytes", "134217728"),
            ("memory", "memory.soft_limit_in_bytes", "33554432"), ("memory", "memory.swappiness", "10"),
            ("cpu", "cpu.shares", "512"), ("cpu", "cpu.cfs_period_us", "50000"), ("cpu", "cpu.cfs_quota_us", "25000"),
            ("cpuset", "cpuset.cpus", "0"), ("pids", "pids.max", "50"),
        ]
        for (controller, file, value) in expected {
            #expect(CgroupV1Files.read(controller, id, file) == value, "\(file)")
        }
        #expect(CgroupV1Files.read("devices", id, "devices.list").contains("c 10:200 rwm"))
        if let block = CgroupV1Files.blockDevice {
            var info = stat()
            stat(block, &info)
            let numbers = "\(UInt64(info.st_rdev) >> 8 & 0xfff):\(UInt64(info.st_rdev) & 0xff)"
            #expect(CgroupV1Files.read("blkio", id, "blkio.throttle.read_bps_device") == "\(numbers) 1048576")
            #expect(CgroupV1Files.read("blkio", id, "blkio.throttle.write_iops_device") == "\(numbers) 100")
        }
        let inside = daemon.docker("exec", "limited", "sh", "-c",
                                   "ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; df -k /dev/shm | tail -1 | awk '{print $2}'; ls -l /dev/mynull | cut -c1")
        #expect(inside.stdout == "1024\n2048\n100\n16384\nc\n", "\(inside.stderr)")

        // update: live, in the cgroup, in inspect; stats report usage against the new limit.
        #expect(daemon.docker("update", "--memory", "96m", "--memory-swap", "192m", "--cpus", "0.5", "limited").status != 0,
                "NanoCpus over a set CPU period must be refused")
        let update = daemon.docker("update", "--memory", "96m", "--memory-swap", "192m", "--pids-limit", "30", "limited")
        #expect(update.status == 0, "\(update.stderr)")
        #expect(CgroupV1Files.read("memory", id, "memory.limit_in_bytes") == "100663296")
        #expect(CgroupV1Files.read("pids", id, "pids.max") == "30")
        #expect(daemon.docker("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}", "limited").stdout == "100663296 30\n")
        let stats = daemon.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", "limited")
        #expect(stats.stdout.hasSuffix("/ 96MiB\n"), "\(stats.stdout)")
        #expect(daemon.docker("rm", "-f", "limited").status == 0)
        #expect(Command.eventually { !FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/berth/\(id)") })
    }

    @Test("a fork bomb stops at --pids-limit; the OOM killer ends a container over --memory, reported by inspect and events")
    func limitsAreEnforced() throws {
        let daemon = try DaemonHarness("enforce")
        defer { daemon.shutdown() }
        // A shell forking without end, against a limit of 20: its forks fail, the container lives on.
        #expect(daemon.docker("run", "-d", "--name", "bombed", "--pids-limit", "20", "busybox", "sleep", "600").status == 0)
        let id = daemon.docker("inspect", "-f", "{{.Id}}", "bombed").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let bomb = daemon.docker("exec", "bombed", "sh", "-c", "while true; do sleep 600 & done", timeout: 60)
        #expect(bomb.status != 0 && bomb.stderr.contains("can't fork"), "\(bomb.status): \(bomb.stderr)")
        if CgroupV1Files.available {
            let current = Int(CgroupV1Files.read("pids", id, "pids.current")) ?? 0
            #expect(current > 10 && current <= 20, "\(current) processes")
            #expect(CgroupV1Files.read("pids", id, "pids.events") != "max 0")
        }
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}}", "bombed").stdout == "running\n")
        #expect(daemon.docker("rm", "-f", "bombed").status == 0)

        let oom = daemon.docker("run", "--name", "hog", "--memory", "8m", "--memory-swap", "8m", "busybox", "sh", "-c",
                                "x=a; while true; do x=$x$x; done")
        #expect(oom.status == 137)
        #expect(daemon.docker("inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog").stdout == "true 137\n")
        #expect(daemon.docker("rm", "hog").status == 0)
    }

    @Test("--ipc shareable, container: and none, --pid container:, with dockerd's refusals")
    func sharedNamespaces() throws {
        let daemon = try DaemonHarness("ipcpid")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "donor", "--ipc", "shareable", "--shm-size", "8m", "busybox", "sh", "-c",
                              "echo shared > /dev/shm/note; exec sleep 600").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "private", "busybox", "sleep", "600").status == 0)
        #expect(Command.eventually { daemon.docker("exec", "donor", "cat", "/dev/shm/note").stdout == "shared\n" })
        let joined = daemon.docker("run", "--rm", "--ipc", "container:donor", "--pid", "container:donor", "busybox", "sh", "-c",
                                   "cat /dev/shm/note; readlink /proc/1/exe; df -k /dev/shm | tail -1 | awk '{print $2}'")
        #expect(joined.stdout == "shared\n/bin/busybox\n8192\n", "\(joined.stderr)")
        let ownIPC = daemon.docker("exec", "donor", "readlink", "/proc/self/ns/ipc").stdout
        let joinedIPC = daemon.docker("run", "--rm", "--ipc", "container:donor", "busybox", "readlink", "/proc/self/ns/ipc").stdout
        #expect(!ownIPC.isEmpty && ownIPC == joinedIPC)
        let refused = daemon.docker("run", "--rm", "--ipc", "container:private", "busybox", "true")
        #expect(refused.status == 125)
        #expect(refused.stderr.contains("non-shareable IPC (hint: use IpcMode:shareable for the donor container)"), "\(refused.stderr)")
        #expect(daemon.docker("run", "--rm", "--ipc", "none", "busybox", "test", "!", "-e", "/dev/shm").status == 0)
        // --privileged gives the host's device nodes; others see only the defaults.
        if let block = CgroupV1Files.blockDevice {
            #expect(daemon.docker("run", "--rm", "--privileged", "busybox", "test", "-b", block).status == 0)
            #expect(daemon.docker("run", "--rm", "busybox", "test", "-e", block).status == 1)
        }
        #expect(daemon.docker("stop", "-t", "0", "private").status == 0)
        let stopped = daemon.docker("run", "--rm", "--pid", "container:private", "busybox", "true")
        #expect(stopped.stderr.contains("cannot join PID of a non running container: private"), "\(stopped.stderr)")
        let donorID = daemon.docker("inspect", "-f", "{{.Id}}", "donor").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(TestEnvironment.mountTable().contains("/containers/\(donorID)/shm "))
        #expect(daemon.docker("rm", "-f", "donor", "private").status == 0)
        #expect(!TestEnvironment.mountTable().contains("/containers/\(donorID)/shm "), "the shareable /dev/shm outlived its container")
    }

    @Test("the Python SDK sets limits, devices, sysctls and capabilities, updates them and reads stats; berth's flags do the same")
    func sdkAndBerthSetLimits() throws {
        let daemon = try DaemonHarness("sdklimit")
        defer { daemon.shutdown() }
        let sdk = daemon.python("""
            c = client.containers.run('busybox', ['sleep', '600'], detach=True, name='sdk-limits', network_mode='none',
                mem_limit='64m', memswap_limit='128m', mem_reservation='32m', cpu_period=100000, cpu_quota=50000,
                cpu_shares=256, pids_limit=40, ulimits=[docker.types.Ulimit(name='nofile', soft=512, hard=1024)],
                shm_size='16m', sysctls={'net.ipv4.ip_forward': '1'}, cap_drop=['ALL'], cap_add=['CHOWN'],
                security_opt=['no-new-privileges'], oom_score_adj=50, devices=['/dev/null:/dev/sdknull:rwm'],
                ipc_mode='shareable', group_add=['50'], user='nobody')
            hc = c.attrs['HostConfig']
            print(hc['Memory'], hc['MemorySwap'], hc['PidsLimit'], hc['Ulimits'][0]['Soft'], hc['IpcMode'], hc['Devices'][0]['PathInContainer'])
            out = c.exec_run(['sh', '-c', 'ulimit -n; cat /proc/sys/net/ipv4/ip_forward; grep -E "CapBnd|NoNewPrivs" /proc/self/status; id; ls /dev/sdknull']).output.decode()
            print(out, end='')
            c.update(mem_limit='96m', memswap_limit='192m')
            c.reload()
            print(c.attrs['HostConfig']['Memory'], c.stats(stream=False)['memory_stats']['limit'])
            c.remove(force=True)
            """)
        #expect(sdk.stdout == """
            67108864 134217728 40 512 shareable /dev/sdknull
            512
            1
            CapBnd:\t0000000000000001
            NoNewPrivs:\t1
            uid=65534(nobody) gid=65534(nogroup) groups=50
            /dev/sdknull
            100663296 100663296

            """, "\(sdk.stderr)")

        let berth = daemon.berth("run", "--rm", "--memory", "64m", "--memory-swap", "64m", "--cpus", "0.5", "--pids-limit", "10",
                                 "--ulimit", "nofile=100:200", "--shm-size", "8m", "--sysctl", "net.ipv4.ip_forward=1",
                                 "--device", "/dev/null:/dev/n2", "--add-host", "printer:10.1.2.3", "--oom-score-adj", "7",
                                 "--cap-drop", "ALL", "busybox", "sh", "-c",
                                 "ulimit -n; cat /proc/sys/net/ipv4/ip_forward; grep printer /etc/hosts; ls /dev/n2; cat /proc/self/oom_score_adj; grep CapEff /proc/self/status")
        #expect(berth.stdout == "100\n1\n10.1.2.3\tprinter\n/dev/n2\n7\nCapEff:\t0000000000000000\n", "\(berth.stderr)")
    }

    @Test("bad limits, capabilities, devices, sysctls and security options are refused at create with dockerd's words; nothing is created")
    func badInputIsRefusedAtCreate() throws {
        let daemon = try DaemonHarness("badlimit")
        defer { daemon.shutdown() }
        let cases: [(String, String)] = [
            (#""Memory":67108864,"MemorySwap":33554432"#, "Minimum memoryswap limit should be larger than memory limit, see usage"),
            (#""MemorySwap":33554432"#, "You should always set the Memory limit when using Memoryswap limit, see usage"),
            (#""CpuQuota":9223372036854775806"#, "CPU cfs quota can not be more than"),
            (#""CapAdd":["FOO"]"#, #"invalid CapAdd: unknown capability: \"CAP_FOO\""#),
            (#""CapDrop":["CAP_NOPE"]"#, #"invalid CapDrop: unknown capability: \"CAP_NOPE\""#),
            (#""SecurityOpt":["seccomp={\"defaultAction\": 7"]"#, "Decoding seccomp profile failed"),
            (#""SecurityOpt":["bogus=1"]"#, #"invalid --security-opt 2: \"bogus=1\""#),
            (#""Sysctls":{"kernel.panic":"1"}"#, #"sysctl \"kernel.panic\" is not allowed"#),
            (#""NetworkMode":"host","Sysctls":{"net.ipv4.ip_forward":"1"}"#, "is not allowed with --network host"),
            (#""IpcMode":"sideways""#, "invalid IPC mode: sideways"),
            (#""PidMode":"sideways""#, "invalid PID mode: sideways"),
            (#""CgroupnsMode":"sideways""#, "invalid cgroup namespace mode: sideways"),
            (#""Devices":[{"PathOnHost":"/dev/no-such-device","PathInContainer":"/dev/x","CgroupPermissions":"rwm"}]"#,
             #"error gathering device information while adding custom device \"/dev/no-such-device\": no such file or directory"#),
            (#""Devices":[{"PathOnHost":"/etc/hostname","PathInContainer":"/dev/x","CgroupPermissions":"rwm"}]"#, "not a device node"),
            (#""DeviceCgroupRules":["c 1:3 rwx"]"#, "invalid device cgroup rule format: 'c 1:3 rwx'"),
            (#""DeviceRequests":[{"Count":-1,"Capabilities":[["gpu"]]}]"#, #"could not select device driver \"\" with capabilities: [[gpu]]"#),
            (#""BlkioDeviceReadBps":[{"Path":"/etc/hostname","Rate":1}]"#, "/etc/hostname is not a block device"),
        ]
        for (fields, message) in cases {
            var host = #"{"NetworkMode":"none",\#(fields)}"#
            if fields.contains("NetworkMode") { host = "{\(fields)}" }
            let answer = daemon.api("POST", "/containers/create", body: #"{"Image":"busybox","HostConfig":\#(host)}"#)
            #expect(answer.status == 400, "\(fields): \(answer)")
            #expect(answer.body.contains(message), "\(fields): \(answer.body)")
        }
        #expect(daemon.docker("ps", "-aq").stdout.isEmpty)
        // The docker CLI's own checks, and berth's, for what never reaches the API.
        for tool in ["docker", "berth"] {
            let run = { (arguments: [String]) in tool == "docker" ? daemon.docker(["run", "--rm"] + arguments) : daemon.berth(["run", "--rm"] + arguments) }
            let memory = run(["--memory", "12x", "busybox", "true"])
            #expect(memory.status == 125 && memory.stderr.contains("invalid argument \"12x\" for \"-m, --memory\" flag"), "\(tool): \(memory.stderr)")
            let mount = run(["--mount", "type=bind,source=/tmp,target=/x,colour=blue", "busybox", "true"])
            #expect(mount.status == 125 && mount.stderr.contains("unexpected key 'colour' in 'colour=blue'"), "\(tool): \(mount.stderr)")
        }
        #expect(daemon.docker("ps", "-aq").stdout.isEmpty)
    }
}
