import BerthTestSupport
import Foundation
import Testing

/// The rest of docker's verbs through `berth`: files in and out of containers, image archives,
/// history, updates, stats, events, prunes, disk usage, attach and the management groups —
/// compared with the docker CLI against the same daemon where both print the same thing.
@Suite("berth CLI: files, images, system commands")
struct BerthCLICommandTests {
    /// Lines with runs of spaces as one separator and relative times as one word: the two
    /// commands run a moment apart.
    static func comparable(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.replacingOccurrences(of: #"(Less than a second|About a minute|\d+ seconds?|\d+ minutes?)"#, with: "T", options: .regularExpression)
                .replacingOccurrences(of: #" {2,}"#, with: "\t", options: .regularExpression)
        }.joined(separator: "\n")
    }

    @Test func copyDiffExportCommitHistoryAndUpdate() throws {
        let daemon = try DaemonHarness("cli-files")
        defer { daemon.shutdown() }
        let local = daemon.dir + "/local"
        try FileManager.default.createDirectory(atPath: local + "/tree/sub", withIntermediateDirectories: true)
        try "from host\n".write(toFile: local + "/tree/sub/file", atomically: true, encoding: .utf8)
        #expect(daemon.berth("run", "-d", "--name", "files", "--network", "none", "busybox", "sleep", "600").status == 0)
        #expect(daemon.berth("exec", "files", "sh", "-c", "mkdir -p /data/d && echo inside > /data/d/x && rm /etc/group").status == 0)

        // diff: the same lines as docker's.
        #expect(daemon.berth("diff", "files").stdout == daemon.docker("diff", "files").stdout)
        // cp out: into an existing directory, and to a new name; `-` streams a tar.
        #expect(daemon.berth("cp", "files:/data/d", local + "/").status == 0)
        #expect(try String(contentsOfFile: local + "/d/x", encoding: .utf8) == "inside\n")
        #expect(daemon.berth("cp", "files:/data/d/x", local + "/renamed").status == 0)
        #expect(try String(contentsOfFile: local + "/renamed", encoding: .utf8) == "inside\n")
        let tar = daemon.berth("cp", "files:/data/d/x", "-")
        #expect(tar.status == 0 && tar.stdout.hasPrefix("x"))
        // cp in: a directory under a new name, a file into a directory.
        #expect(daemon.berth("cp", local + "/tree", "files:/data/copied").status == 0)
        #expect(daemon.berth("cp", local + "/renamed", "files:/data").status == 0)
        #expect(daemon.berth("exec", "files", "cat", "/data/copied/sub/file", "/data/renamed").stdout == "from host\ninside\n")
        let missing = daemon.berth("cp", local + "/nothing", "files:/data")
        #expect(missing.status == 1 && missing.stderr.contains("no such file or directory"), "\(missing.stderr)")
        #expect(daemon.berth("cp", "a", "b").status == 125)

        // export: a tar of the whole root (refused on a terminal, to a file with -o).
        #expect(daemon.berth("export", "-o", local + "/root.tar", "files").status == 0)
        let listing = Command.capture(["tar", "-tf", local + "/root.tar"], timeout: 30).stdout
        #expect(listing.contains("bin/busybox") && listing.contains("data/copied/sub/file"))

        // commit with changes, then history: docker's table.
        let commit = daemon.berth("commit", "-c", "ENV STAGE=committed", "-m", "snapshot", "files", "snap:v1")
        #expect(commit.status == 0 && commit.stdout.hasPrefix("sha256:"), "\(commit.stderr)")
        #expect(daemon.berth("run", "--rm", "--network", "none", "snap:v1", "sh", "-c", "echo $STAGE; cat /data/d/x").stdout == "committed\ninside\n")
        for arguments in [["history", "snap:v1"], ["history", "--no-trunc", "-q", "snap:v1"], ["history", "--format", "{{.ID}} {{.Size}} {{.Comment}}", "snap:v1"]] {
            #expect(Self.comparable(daemon.berth(arguments).stdout) == Self.comparable(daemon.docker(arguments).stdout), "\(arguments)")
        }

        // update: the cgroup limit changes under the running container.
        #expect(daemon.berth("update", "--memory", "48m", "--memory-swap", "96m", "files").stdout == "files\n")
        #expect(daemon.berth("inspect", "-f", "{{.HostConfig.Memory}}", "files").stdout == "50331648\n")
        #expect(daemon.berth("update", "files").status == 125)

        // stats: one sample, docker's columns.
        let stats = daemon.berth("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "files")
        #expect(stats.stdout == "files 1\n", "\(stats.stderr)")
        let header = daemon.berth("stats", "--no-stream", "files").stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(Self.comparable(header) == Self.comparable(daemon.docker("stats", "--no-stream", "files").stdout.split(separator: "\n").first.map(String.init) ?? ""))
    }

    @Test func imageArchivesPrunesEventsAndGroups() throws {
        let daemon = try DaemonHarness("cli-images")
        defer { daemon.shutdown() }
        let dir = daemon.dir + "/archives"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let since = String(Int(Date().timeIntervalSince1970))

        // save → rmi → load gives the same ID; import makes an image from an exported root.
        let id = daemon.berth("image", "inspect", "-f", "{{.Id}}", "busybox").stdout
        #expect(daemon.berth("tag", "busybox", "keep:v1").status == 0)
        #expect(daemon.berth("save", "-o", dir + "/keep.tar", "keep:v1").status == 0)
        #expect(daemon.berth("image", "rm", "keep:v1").stdout == "Untagged: keep:v1\n")
        #expect(daemon.berth("load", "-i", dir + "/keep.tar").stdout == "Loaded image: keep:v1\n")
        #expect(daemon.berth("inspect", "-f", "{{.Id}}", "keep:v1").stdout == id)
        // On a terminal, a progress bar per layer first.
        let terminal = try TerminalSession(daemon, docker: "load -i \(dir)/keep.tar", program: DaemonHarness.binaries + "/berth", keepScreen: true)
        defer { terminal.close() }
        #expect(Command.eventually(timeout: 30) { terminal.exitStatus != nil })
        let screen = terminal.screen
        #expect(screen.contains(": Loading layer [=====") && screen.contains("Loaded image: keep:v1"), "\(screen)")
        let junk = dir + "/junk.tar"
        try "not an archive".write(toFile: junk, atomically: true, encoding: .utf8)
        let bad = daemon.berth("load", "-i", junk)
        #expect(bad.status == 1 && bad.stderr.hasPrefix("Error response from daemon: load:"), "\(bad.stderr)")
        #expect(daemon.berth("create", "--name", "shell", "--network", "none", "busybox", "true").status == 0)
        #expect(daemon.berth("export", "-o", dir + "/root.tar", "shell").status == 0)
        let imported = daemon.berth("import", "-c", "CMD [\"echo\", \"from import\"]", dir + "/root.tar", "flat:v1")
        #expect(imported.status == 0 && imported.stdout.hasPrefix("sha256:"), "\(imported.stderr)")
        #expect(daemon.berth("run", "--rm", "--network", "none", "flat:v1").stdout == "from import\n")

        // Management groups: the same output as the plain verbs.
        // (Without the CREATED column: "Less than a second ago" may turn into "1 second ago" between the two.)
        let imageTable = ["--format", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}"]
        #expect(daemon.berth(["image", "ls"] + imageTable).stdout == daemon.berth(["images"] + imageTable).stdout)
        #expect(daemon.berth("container", "ls", "-a", "--format", "{{.Names}}").stdout == "shell\n")
        #expect(daemon.berth("container", "inspect", "-f", "{{.Name}}", "shell").stdout == "/shell\n")
        #expect(daemon.berth("system", "df").stdout == daemon.docker("system", "df").stdout)

        // Prunes: a "no" keeps everything; -f removes exactly the stopped container.
        let declined = daemon.berth("container", "prune", stdin: "n\n")
        #expect(declined.stdout.hasPrefix("WARNING! This will remove all stopped containers.") && !declined.stdout.contains("Deleted"))
        #expect(daemon.berth("ps", "-aq").stdout.count == 13)
        let pruned = daemon.berth("container", "prune", "-f")
        #expect(pruned.stdout.hasPrefix("Deleted Containers:\n") && pruned.stdout.hasSuffix("Total reclaimed space: 0B\n"), "\(pruned.stdout)")
        #expect(daemon.berth("ps", "-aq").stdout.isEmpty)
        #expect(daemon.berth("image", "prune", "-a", "-f").stdout.contains("Total reclaimed space:"))
        #expect(daemon.berth("images", "-q").stdout.isEmpty)

        // events: the same lines as docker's for the same window.
        let until = String(Int(Date().timeIntervalSince1970) + 1)
        let berthEvents = daemon.berth("events", "--since", since, "--until", until)
        let dockerEvents = daemon.docker("events", "--since", since, "--until", until)
        #expect(berthEvents.stdout == dockerEvents.stdout && berthEvents.stdout.contains("container create"), "\(berthEvents.stdout)")
        let filtered = daemon.berth("events", "--since", since, "--until", until, "--filter", "type=image", "--filter", "event=tag",
                                    "--format", "{{.Action}} {{.Actor.Attributes.name}}")
        #expect(filtered.stdout == "tag keep:v1\n", "\(filtered.stdout)")
    }

    @Test func attachToARunningContainer() throws {
        let daemon = try DaemonHarness("cli-attach")
        defer { daemon.shutdown() }
        #expect(daemon.berth("run", "-d", "-i", "--name", "reader", "--network", "none", "busybox", "sh", "-c", "read line; echo got $line; exit 3").status == 0)
        let attached = daemon.berth("attach", "reader", stdin: "hello\n")
        #expect(attached.stdout == "got hello\n" && attached.status == 3, "\(attached.stdout) \(attached.stderr)")
        let stopped = daemon.berth("attach", "reader")
        #expect(stopped.status == 1 && stopped.stderr == "You cannot attach to a stopped container, start it first\n")
    }
}
