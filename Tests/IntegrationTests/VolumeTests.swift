import BerthTestSupport
import Foundation
import Testing

/// Named and anonymous volumes with real containers, driven by the docker CLI, berth and the
/// Python SDK: data that outlives containers, copy-up, removal with the container, in-use
/// refusals, prune.
@Suite("volumes")
struct VolumeTests {
    @Test func namedVolumesKeepDataAcrossContainers() throws {
        let daemon = try DaemonHarness("volumes")
        defer { daemon.shutdown() }
        let created = daemon.docker("volume", "create", "--label", "tier=db", "data")
        #expect(created.stdout == "data\n", "\(created.stderr)")
        let inspected = daemon.docker("volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}} {{.Labels}}", "data").stdout
        #expect(inspected == "data local local \(daemon.dir)/data/volumes/data/_data map[tier:db]\n", "\(inspected)")
        // Written by one container, read by the next; the data is on the host under the mountpoint.
        #expect(daemon.docker("run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/file").status == 0)
        #expect(daemon.docker("run", "--rm", "-v", "data:/data:ro", "busybox", "cat", "/data/file").stdout == "kept\n")
        #expect(FileManager.default.contents(atPath: daemon.dir + "/data/volumes/data/_data/file") == Data("kept\n".utf8))
        let readOnly = daemon.docker("run", "--rm", "-v", "data:/data:ro", "busybox", "touch", "/data/other")
        #expect(readOnly.status != 0 && readOnly.stderr.contains("Read-only file system"), "\(readOnly.stderr)")
        // A volume named at run is made then; --mount type=volume reaches the same volumes.
        #expect(daemon.docker("run", "--rm", "-v", "madeatrun:/x", "busybox", "true").status == 0)
        #expect(daemon.docker("run", "--rm", "--mount", "type=volume,src=data,dst=/m", "busybox", "cat", "/m/file").stdout == "kept\n")
        #expect(daemon.docker("run", "--rm", "-v", "data:/data", "busybox", "mkdir", "-p", "/data/sub/deeper").status == 0)
        #expect(daemon.docker("run", "--rm", "--mount", "type=volume,src=data,dst=/m,volume-subpath=sub", "busybox", "ls", "/m").stdout == "deeper\n")
        let listed = daemon.docker("volume", "ls", "--format", "{{.Driver}} {{.Name}}").stdout
        #expect(listed == "local data\nlocal madeatrun\n", "\(listed)")
        #expect(daemon.berth("volume", "ls").stdout == daemon.docker("volume", "ls").stdout)
        #expect(daemon.docker("volume", "ls", "-q", "--filter", "label=tier=db").stdout == "data\n")

        // Inspect shows a volume mount as dockerd does; a used volume cannot go.
        #expect(daemon.docker("create", "--name", "user", "-v", "data:/data", "busybox", "true").status == 0)
        let mount = daemon.docker("inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Source}} {{.Destination}} {{.Driver}} {{.RW}}{{end}}", "user").stdout
        #expect(mount == "volume data \(daemon.dir)/data/volumes/data/_data /data local true\n", "\(mount)")
        let inUse = daemon.docker("volume", "rm", "data")
        #expect(inUse.status != 0 && inUse.stderr.contains("remove data: volume is in use - ["), "\(inUse.stderr)")
        #expect(daemon.docker("rm", "user").status == 0)

        // A daemon crash loses nothing.
        daemon.kill9()
        try daemon.start()
        #expect(daemon.docker("run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/file").stdout == "kept\n")
        #expect(daemon.docker("volume", "rm", "data", "madeatrun").status == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.dir + "/data/volumes/data"))
        let gone = daemon.docker("volume", "inspect", "data")
        #expect(gone.status != 0 && gone.stderr.contains("no such volume"), "\(gone.stderr)")
        #expect(daemon.docker("volume", "rm", "-f", "data").status == 0, "force: a missing volume is no error")
    }

    @Test func copyUpAnonymousVolumesAndPrune() throws {
        let daemon = try DaemonHarness("volcopy")
        defer { daemon.shutdown() }
        // A new volume over image content gets it (modes kept); nocopy leaves it empty.
        let copied = daemon.docker("run", "--rm", "-v", "etc:/etc", "busybox", "sh", "-c", "ls /etc; stat -c %a /etc/passwd")
        #expect(copied.stdout.contains("passwd\n") && copied.stdout.hasSuffix("644\n"), "\(copied.stdout)\(copied.stderr)")
        #expect(FileManager.default.fileExists(atPath: daemon.dir + "/data/volumes/etc/_data/passwd"))
        let bare = daemon.docker("run", "--rm", "-v", "bare:/usr:nocopy", "busybox", "ls", "-A", "/usr")
        #expect(bare.status == 0 && bare.stdout.isEmpty, "\(bare.stdout)")
        // Not empty any more: the image's content is not copied again over what is there.
        #expect(daemon.docker("run", "--rm", "-v", "etc:/etc", "busybox", "sh", "-c", "echo mine > /etc/motd").status == 0)
        #expect(daemon.docker("run", "--rm", "-v", "etc:/etc", "busybox", "cat", "/etc/motd").stdout == "mine\n")

        // -v /path: an anonymous volume, gone with `rm -v` and with --rm, kept by a plain rm.
        #expect(daemon.docker("run", "-d", "--name", "anon", "-v", "/scratch", "busybox", "sleep", "60").status == 0)
        let name = daemon.docker("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "anon").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(name.count == 64, "\(name)")
        #expect(daemon.docker("volume", "inspect", "-f", "{{index .Labels \"com.docker.volume.anonymous\"}}|", name).stdout == "|\n")
        #expect(daemon.docker("rm", "-f", "-v", "anon").status == 0)
        #expect(daemon.docker("volume", "inspect", name).status != 0)
        // (`--until 0s` is the current second, which the last events may not have left yet.)
        var events = ""
        let announced = Command.eventually(timeout: 5) {
            events = daemon.docker("events", "--since", "0", "--until", "0s", "--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}}").stdout
            return events.contains("create \(name)\n") && events.contains("destroy \(name)\n")
        }
        #expect(announced, "\(events)")
        // --read-only: the root refuses writes, its volumes and tmpfs mounts take them.
        let readOnlyRoot = daemon.docker("run", "--rm", "--read-only", "-v", "/data", "--tmpfs", "/run", "busybox", "sh", "-c",
                                         "touch /root-file 2>/dev/null && echo root; touch /data/f && echo volume; touch /run/f && echo tmpfs")
        #expect(readOnlyRoot.stdout == "volume\ntmpfs\n", "\(readOnlyRoot.stdout)\(readOnlyRoot.stderr)")
        let before = daemon.docker("volume", "ls", "-q").stdout
        #expect(daemon.docker("run", "--rm", "-v", "/scratch", "busybox", "sh", "-c", "echo x > /scratch/f").status == 0)
        #expect(Command.eventually(timeout: 10) { daemon.docker("volume", "ls", "-q").stdout == before })
        #expect(daemon.docker("create", "--name", "left", "-v", "/scratch", "busybox", "true").status == 0)
        #expect(daemon.docker("rm", "left").status == 0)
        let dangling = daemon.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split(separator: "\n").map(String.init)
        #expect(dangling.count == 3 && dangling.contains("bare") && dangling.contains("etc"), "\(dangling)")

        // prune: the unused anonymous volumes; --all: every unused one.
        #expect(daemon.docker("create", "--name", "holder", "-v", "etc:/etc", "busybox", "true").status == 0)
        let pruned = daemon.docker("volume", "prune", "-f")
        #expect(pruned.stdout.hasPrefix("Deleted Volumes:\n") && pruned.stdout.split(separator: "\n").count >= 3, "\(pruned.stdout)")
        #expect(daemon.docker("volume", "ls", "-q").stdout == "bare\netc\n")
        #expect(daemon.docker("volume", "prune", "-af").status == 0)
        #expect(daemon.docker("volume", "ls", "-q").stdout == "etc\n", "etc is in use by holder")
        #expect(daemon.docker("system", "df", "--format", "{{.Type}} {{.TotalCount}}").stdout.contains("Local Volumes 1"))
    }

    @Test func theSDKAndBadInput() throws {
        let daemon = try DaemonHarness("volsdk")
        defer { daemon.shutdown() }
        let sdk = daemon.python("""
            import docker.types
            v = client.volumes.create('sdkvol', labels={'a': 'b'})
            print(v.name, [x.name for x in client.volumes.list(filters={'label': 'a=b'})], client.volumes.get('sdkvol').attrs['Labels'])
            client.containers.run('busybox', 'sh -c "echo sdk > /v/f"', volumes={'sdkvol': {'bind': '/v', 'mode': 'rw'}}, remove=True)
            out = client.containers.run('busybox', 'cat /m/f', mounts=[docker.types.Mount('/m', 'sdkvol', type='volume', read_only=True)], remove=True)
            print(out.decode(), end='')
            client.volumes.create('other')
            print(client.volumes.prune(filters={'all': 'true'})['VolumesDeleted'])
            """)
        #expect(sdk.stdout == "sdkvol ['sdkvol'] {'a': 'b'}\nsdk\n['other', 'sdkvol']\n", "\(sdk.stdout)\(sdk.stderr)")
        // dockerd's refusals, and nothing is made.
        let badName = daemon.api("POST", "/v1.50/volumes/create", body: #"{"Name":"-bad"}"#)
        #expect(badName.status == 400 && badName.body.contains("includes invalid characters for a local volume name"), "\(badName)")
        let driver = daemon.docker("volume", "create", "-d", "nosuchdriver", "x1")
        #expect(driver.status != 0 && driver.stderr.contains("plugin \"nosuchdriver\" not found"), "\(driver.stderr)")
        let options = daemon.docker("volume", "create", "-o", "type=tmpfs", "x2")
        #expect(options.status != 0 && options.stderr.contains("missing required option: \"device\""), "\(options.stderr)")
        let key = daemon.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "bogus=1", "x2")
        #expect(key.status != 0 && key.stderr.contains("invalid option key: \"bogus\""), "\(key.stderr)")
        // (The docker CLI makes a relative source absolute itself; other clients rely on the daemon.)
        let relative = daemon.api("POST", "/v1.50/containers/create", body: #"{"Image":"busybox","HostConfig":{"Binds":["./here:/x"]}}"#)
        #expect(relative.status == 400 && relative.body.contains("If you intended to pass a host directory, use absolute path"), "\(relative)")
        let mountDriver = daemon.docker("run", "--rm", "--mount", "type=volume,src=x3,dst=/x,volume-driver=nfs", "busybox", "true")
        #expect(mountDriver.status != 0 && mountDriver.stderr.contains("volume driver nfs is not supported"), "\(mountDriver.stderr)")
        let subpath = daemon.docker("run", "--rm", "--mount", "type=volume,src=x4,dst=/x,volume-subpath=missing", "busybox", "true")
        #expect(subpath.status != 0 && subpath.stderr.contains("cannot access path missing"), "\(subpath.stderr)")
        #expect(daemon.docker("volume", "ls", "-q").stdout == "x4\n", "a named volume is made at create, as with dockerd; nothing else")
        // berth system prune --volumes: the dangling anonymous volumes too, named ones stay.
        #expect(daemon.docker("create", "--name", "tmpv", "-v", "/t", "busybox", "true").status == 0)
        #expect(daemon.docker("rm", "tmpv").status == 0)
        let pruned = daemon.berth("system", "prune", "-f", "--volumes")
        #expect(pruned.stdout.contains("Deleted Volumes:\n") && pruned.stdout.contains("Deleted Containers:") == false, "\(pruned.stdout)")
        #expect(daemon.docker("volume", "ls", "-q").stdout == "x4\n")
    }

    @Test func volumesFromAndBerthsMount() throws {
        let daemon = try DaemonHarness("volfrom")
        defer { daemon.shutdown() }
        // A data container's volumes (named and anonymous) shared, read-write or read-only.
        #expect(daemon.docker("create", "--name", "store", "-v", "shared:/shared", "-v", "/anon", "busybox", "true").status == 0)
        #expect(daemon.docker("run", "--rm", "--volumes-from", "store", "busybox", "sh", "-c", "echo one > /shared/f; echo two > /anon/g").status == 0)
        #expect(daemon.docker("run", "--rm", "--volumes-from", "store:ro", "busybox", "cat", "/shared/f", "/anon/g").stdout == "one\ntwo\n")
        let readOnly = daemon.docker("run", "--rm", "--volumes-from", "store:ro", "busybox", "touch", "/shared/x")
        #expect(readOnly.status != 0 && readOnly.stderr.contains("Read-only file system"), "\(readOnly.stderr)")
        // The anonymous volume stays while the data container has it, even after a consumer's rm -v.
        #expect(daemon.docker("create", "--name", "consumer", "--volumes-from", "store", "busybox", "true").status == 0)
        #expect(daemon.docker("rm", "-v", "consumer").status == 0)
        #expect(daemon.docker("run", "--rm", "--volumes-from", "store", "busybox", "cat", "/anon/g").stdout == "two\n")
        let missing = daemon.docker("run", "--rm", "--pull", "never", "--volumes-from", "nosuch", "busybox", "true")
        #expect(missing.status != 0 && missing.stderr.contains("No such container: nosuch"), "\(missing.stderr)")
        #expect(daemon.docker("create", "--name", "binder", "-v", "\(daemon.dir):/host", "busybox", "true").status == 0)
        let binds = daemon.docker("run", "--rm", "--volumes-from", "binder", "busybox", "true")
        #expect(binds.status != 0 && binds.stderr.contains("its bind mounts are not shared by Berth yet"), "\(binds.stderr)")
        // berth run --mount and --volumes-from send what docker sends.
        #expect(daemon.berth("run", "--rm", "--mount", "type=volume,src=shared,dst=/m,readonly", "busybox", "cat", "/m/f").stdout == "one\n")
        #expect(daemon.berth("run", "--rm", "--volumes-from", "store", "busybox", "cat", "/shared/f").stdout == "one\n")
        #expect(daemon.berth("run", "--rm", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m", "busybox", "sh", "-c", "df -k /t | tail -1").stdout.contains("1024"))
        let badKey = daemon.berth("run", "--rm", "--mount", "type=volume,dst=/x,bogus=1", "busybox", "true")
        #expect(badKey.status != 0 && badKey.stderr.contains("unexpected key 'bogus'"), "\(badKey.stderr)")
    }

    @Test func localDriverOptions() throws {
        let daemon = try DaemonHarness("volopts")
        defer { daemon.shutdown() }
        // tmpfs with a size and an owner: mounted at the first use, gone with the volume.
        #expect(daemon.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m,uid=1000", "scratch").status == 0)
        #expect(daemon.docker("volume", "inspect", "-f", "{{.Options.type}} {{.Options.o}}", "scratch").stdout == "tmpfs size=1m,uid=1000\n")
        let used = daemon.docker("run", "--rm", "-v", "scratch:/t", "busybox", "sh", "-c", "df -k /t | tail -1; stat -c %u /t; echo x > /t/f")
        #expect(used.stdout.contains(" 1024 ") && used.stdout.contains("\n1000\n"), "\(used.stdout)\(used.stderr)")
        let mountpoint = daemon.dir + "/data/volumes/scratch/_data"
        // As dockerd's local driver: mounted while a container uses it, unmounted when the last one stops.
        #expect(!TestEnvironment.mountTable().contains(" \(mountpoint) "))
        #expect(daemon.docker("run", "-d", "--name", "holder", "-v", "scratch:/t", "busybox", "sh", "-c", "echo held > /t/f; exec sleep 600").status == 0)
        #expect(Command.eventually { daemon.docker("run", "--rm", "-v", "scratch:/t", "busybox", "cat", "/t/f").stdout == "held\n" })
        #expect(TestEnvironment.mountTable().contains(" \(mountpoint) "), "the second container's stop left the first one's mount")
        #expect(daemon.docker("rm", "-f", "holder").status == 0)
        #expect(!TestEnvironment.mountTable().contains(" \(mountpoint) "))
        #expect(daemon.docker("volume", "rm", "scratch").status == 0)
        let quota = daemon.docker("volume", "create", "-o", "size=10m", "quota")
        #expect(quota.status != 0 && quota.stderr.contains("quota size requested but no quota support"), "\(quota.stderr)")
        // A bind of a host directory, read-only where the options say so.
        let host = daemon.dir + "/hostdata"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        #expect(daemon.docker("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device=\(host)", "hostvol").status == 0)
        #expect(daemon.docker("run", "--rm", "-v", "hostvol:/h", "busybox", "sh", "-c", "echo through > /h/file").status == 0)
        #expect(FileManager.default.contents(atPath: host + "/file") == Data("through\n".utf8))
        #expect(daemon.docker("volume", "rm", "hostvol").status == 0)
        #expect(FileManager.default.contents(atPath: host + "/file") == Data("through\n".utf8), "removing the volume leaves the host's data")
        #expect(daemon.docker("volume", "create", "-o", "type=none", "-o", "o=bind,ro", "-o", "device=\(host)", "rovol").status == 0)
        let readOnly = daemon.docker("run", "--rm", "-v", "rovol:/h", "busybox", "touch", "/h/other")
        #expect(readOnly.status != 0 && readOnly.stderr.contains("Read-only file system"), "\(readOnly.stderr)")
        #expect(daemon.docker("volume", "rm", "rovol").status == 0)
        let missing = daemon.docker("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device=/no/such/dir", "nodir")
        #expect(missing.status != 0 && missing.stderr.contains("no such file or directory: /no/such/dir"), "\(missing.stderr)")
    }

    @Test("a local-driver ext4 volume on a loop device the test makes: mounted while used, its data on the device")
    func ext4LoopVolume() throws {
        let daemon = try DaemonHarness("volext4")
        defer { daemon.shutdown() }
        let image = daemon.dir + "/ext4.img"
        #expect(Command.capture(["truncate", "-s", "16M", image]).status == 0)
        #expect(Command.capture(["mkfs.ext4", "-q", "-F", image]).status == 0)
        let attached = Command.capture(["losetup", "-f", "--show", image])
        let loop = attached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(attached.status == 0 && loop.hasPrefix("/dev/loop"), "\(attached.stderr)")
        defer { _ = Command.capture(["losetup", "-d", loop]) }
        #expect(daemon.docker("volume", "create", "-d", "local", "-o", "type=ext4", "-o", "device=\(loop)", "-o", "o=noatime", "onloop").status == 0)
        let written = daemon.docker("run", "--rm", "-v", "onloop:/disk", "busybox", "sh", "-c", "echo on-ext4 > /disk/file; grep ' /disk ' /proc/mounts")
        #expect(written.stdout.contains("ext4") && written.stdout.contains("noatime"), "\(written.stdout) \(written.stderr)")
        #expect(daemon.docker("run", "--rm", "-v", "onloop:/disk", "busybox", "cat", "/disk/file").stdout == "on-ext4\n")
        #expect(daemon.docker("volume", "rm", "onloop").status == 0)
        // What the container wrote is on the device itself.
        let check = daemon.dir + "/check"
        try FileManager.default.createDirectory(atPath: check, withIntermediateDirectories: true)
        #expect(Command.capture(["mount", "-o", "ro", loop, check]).status == 0)
        defer { _ = Command.capture(["umount", check]) }
        #expect(FileManager.default.contents(atPath: check + "/file") == Data("on-ext4\n".utf8))
    }

    @Test("--mount type=image gives an image's tree read-only (with image-subpath), shown in inspect, holding the image; volume-opt makes an option volume")
    func imageMountsAndVolumeOptions() throws {
        let daemon = try DaemonHarness("imgmount")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "viewer", "--mount", "type=image,source=busybox,target=/img",
                              "--mount", "type=image,source=busybox,target=/tools,image-subpath=bin", "busybox", "sleep", "600").status == 0)
        let inside = daemon.docker("exec", "viewer", "sh", "-c", "test -x /img/bin/busybox && test -x /tools/busybox && echo both; touch /img/x")
        #expect(inside.stdout == "both\n" && inside.stderr.contains("Read-only file system"), "\(inside.stdout) \(inside.stderr)")
        #expect(daemon.docker("inspect", "-f", "{{json (index .Mounts 0)}}", "viewer").stdout
                == #"{"Type":"image","Source":"busybox","Destination":"/img","Mode":"","RW":false,"Propagation":"rprivate"}"# + "\n")
        let removal = daemon.docker("rmi", "busybox")
        #expect(removal.status != 0 && removal.stderr.contains("is using its referenced image"), "\(removal.stderr)")
        let id = daemon.docker("inspect", "-f", "{{.Id}}", "viewer").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(daemon.docker("rm", "-f", "viewer").status == 0)
        #expect(!TestEnvironment.mountTable().contains("/containers/\(id)/images/"))
        let missing = daemon.docker("run", "--rm", "--pull", "never", "--mount", "type=image,source=no-such-image,target=/img", "busybox", "true")
        #expect(missing.stderr.contains(#"invalid mount config for type "image": No such image: no-such-image"#), "\(missing.stderr)")

        let made = daemon.docker("run", "--rm", "--mount", "type=volume,source=optvol,target=/v,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=2m",
                                 "busybox", "sh", "-c", "df -k /v | tail -1")
        #expect(made.stdout.contains(" 2048 "), "\(made.stdout) \(made.stderr)")
        #expect(daemon.docker("volume", "inspect", "-f", "{{.Options.type}} {{.Options.o}}", "optvol").stdout == "tmpfs size=2m\n")
        #expect(daemon.docker("volume", "rm", "optvol").status == 0)
    }

    @Test("size: a project quota where the volumes' filesystem has them (ext4 with the project feature, on a loop device), refused where the kernel has none")
    func sizeQuota() throws {
        let daemon = try DaemonHarness("volquota")
        defer { daemon.shutdown() }
        // The volumes' directory on a filesystem with project quotas, made by the test.
        let image = daemon.dir + "/quota.img", volumes = daemon.dir + "/data/volumes"
        #expect(Command.capture(["truncate", "-s", "64M", image]).status == 0)
        #expect(Command.capture(["mkfs.ext4", "-q", "-F", "-O", "quota,project", image]).status == 0)
        // A kernel without quota formats (this VM's: no QFMT_V2, no XFS_QUOTA) cannot mount it:
        // there `size` must be refused, as dockerd refuses it without quota support.
        guard Command.capture(["mount", "-o", "loop,prjquota", image, volumes]).status == 0 else {
            let refused = daemon.docker("volume", "create", "-o", "size=1m", "capped")
            #expect(refused.status != 0 && refused.stderr.contains("quota size requested but no quota support"), "\(refused.stderr)")
            return
        }
        defer { _ = Command.capture(["umount", "-d", volumes]) }
        #expect(daemon.docker("volume", "create", "-o", "size=1m", "capped").status == 0)
        #expect(daemon.docker("volume", "create", "roomy").status == 0)
        let capped = daemon.docker("run", "--rm", "-v", "capped:/v", "busybox", "dd", "if=/dev/zero", "of=/v/f", "bs=1M", "count=3")
        #expect(capped.status != 0 && capped.stderr.contains("Disk quota exceeded"), "\(capped.stderr)")
        #expect(daemon.docker("run", "--rm", "-v", "roomy:/v", "busybox", "dd", "if=/dev/zero", "of=/v/f", "bs=1M", "count=3").status == 0)
        #expect(daemon.docker("volume", "inspect", "-f", "{{.Options.size}}", "capped").stdout == "1m\n")
        #expect(daemon.docker("volume", "rm", "capped", "roomy").status == 0)
    }

    @Test("read-only binds are read-only all the way down (rro, as dockerd ≥ 25); bind-recursive=writable keeps submounts writable")
    func recursiveReadOnlyBinds() throws {
        let daemon = try DaemonHarness("rrobind")
        defer { daemon.shutdown() }
        let source = daemon.dir + "/tree", sub = daemon.dir + "/tree/sub"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        #expect(Command.capture(["mount", "-t", "tmpfs", "-o", "size=1m", "subtree", sub]).status == 0)
        defer { _ = Command.capture(["umount", "-l", sub]) }
        let plain = daemon.docker("run", "--rm", "-v", "\(source):/t:ro", "busybox", "sh", "-c", "touch /t/x; touch /t/sub/x")
        #expect(plain.stderr.components(separatedBy: "Read-only file system").count == 3, "\(plain.stderr)")
        let mounted = daemon.docker("run", "--rm", "--mount", "type=bind,source=\(source),target=/t,readonly", "busybox", "touch", "/t/sub/x")
        #expect(mounted.status != 0 && mounted.stderr.contains("Read-only file system"), "\(mounted.stderr)")
        let writable = daemon.docker("run", "--rm", "--mount", "type=bind,source=\(source),target=/t,readonly,bind-recursive=writable",
                                     "busybox", "sh", "-c", "touch /t/sub/x && echo sub-writable; touch /t/x")
        #expect(writable.stdout == "sub-writable\n" && writable.stderr.contains("Read-only file system"), "\(writable.stdout) \(writable.stderr)")
        let bad = daemon.api("POST", "/containers/create", body: #"{"Image":"busybox","HostConfig":{"NetworkMode":"none","Mounts":[{"Type":"bind","Source":"/tmp","Target":"/t","BindOptions":{"ReadOnlyForceRecursive":true}}]}}"#)
        #expect(bad.status == 400 && bad.body.contains("requires 'ReadOnly' to be true"), "\(bad)")
    }
}
