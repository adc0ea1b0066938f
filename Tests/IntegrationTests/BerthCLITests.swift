import BerthTestSupport
import Foundation
import Testing

/// Berth's CLI against a real berthd, compared with what the real docker CLI prints against
/// the same daemon.
@Suite("berth CLI against berthd, next to the docker CLI")
struct BerthCLITests {
    @Test func runExitCodesStreamsAndLifecycle() throws {
        let daemon = try DaemonHarness("cli-run")
        defer { daemon.shutdown() }
        let hello = daemon.berth("run", "--rm", "--network", "none", "busybox", "echo", "hello")
        #expect(hello.status == 0 && hello.stdout == "hello\n")
        #expect(daemon.berth("run", "--rm", "--network", "none", "busybox", "sh", "-c", "exit 3").status == 3)
        let missing = daemon.berth("run", "--rm", "--network", "none", "busybox", "no-such-command")
        #expect(missing.status == 127)
        #expect(missing.stderr.contains("executable file not found"))
        #expect(daemon.berth("run", "--rm", "-i", "--network", "none", "busybox", "tr", "a-z", "A-Z", stdin: "berth\n").stdout == "BERTH\n")
        let split = daemon.berth("run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo out; echo err >&2")
        #expect(split.stdout == "out\n" && split.stderr == "err\n")
        // `--pull never`: a missing image is an error, and nothing is looked up outside.
        let noImage = daemon.berth("run", "--pull", "never", "--rm", "--network", "none", "no-such-image:tag", "true")
        #expect(noImage.status == 125 && noImage.stderr.contains("No such image: no-such-image:tag"))
        #expect(daemon.docker("ps", "-aq").stdout.isEmpty, "--rm removed every container")

        let run = daemon.berth("run", "-d", "--name", "clibox", "--network", "none", "-e", "A=1", "--label", "k=v", "busybox",
                               "sh", "-c", "echo logged; trap 'exit 0' TERM; while true; do sleep 0.1; done")
        #expect(run.status == 0 && run.stdout.count == 65)
        #expect(Command.eventually { daemon.berth("logs", "clibox").stdout == "logged\n" })
        let exec = daemon.berth("exec", "-e", "B=2", "clibox", "sh", "-c", "echo $A$B; exit 4")
        #expect(exec.stdout == "12\n" && exec.status == 4)
        #expect(daemon.berth("exec", "-i", "clibox", "cat", stdin: "via stdin").stdout == "via stdin")
        #expect(daemon.berth("top", "clibox").stdout.contains("while true"))
        #expect(daemon.berth("pause", "clibox").stdout == "clibox\n")
        #expect(daemon.berth("inspect", "-f", "{{.State.Status}}", "clibox").stdout == "paused\n")
        #expect(daemon.berth("unpause", "clibox").status == 0)
        #expect(daemon.berth("stop", "-t", "5", "clibox").stdout == "clibox\n")
        #expect(daemon.berth("wait", "clibox").stdout == "0\n")
        #expect(daemon.berth("rename", "clibox", "clibox2").status == 0)
        #expect(daemon.berth("start", "clibox2").stdout == "clibox2\n")
        #expect(daemon.berth("restart", "-t", "1", "clibox2").status == 0)
        #expect(daemon.berth("kill", "clibox2").stdout == "clibox2\n")
        let refused = daemon.berth("rm", "nosuch", "clibox2")
        #expect(refused.status == 1)
        #expect(refused.stdout == "clibox2\n")
        #expect(refused.stderr == "Error response from daemon: No such container: nosuch\n")
        let created = daemon.berth("create", "--name", "made", "--network", "none", "busybox", "echo", "from-create")
        #expect(created.status == 0)
        let started = daemon.berth("start", "-a", "made")
        #expect(started.stdout == "from-create\n" && started.status == 0)
        #expect(daemon.berth("rm", "made").status == 0)
    }

    @Test func listingsAndTemplatesMatchTheDockerCLI() throws {
        let daemon = try DaemonHarness("cli-ls")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "lsweb", "--network", "none", "--label", "tier=web", "busybox", "sleep", "600").status == 0)
        #expect(daemon.docker("run", "--name", "lsdone", "--network", "none", "busybox", "sh", "-c", "exit 2").status == 2)
        #expect(daemon.docker("tag", "busybox", "other/busybox:v2").status == 0)
        let same: [[String]] = [
            ["ps"], ["ps", "-a"], ["ps", "-q"], ["ps", "-aq", "--no-trunc"], ["ps", "-a", "-n", "1"], ["ps", "-l"],
            ["ps", "-a", "--filter", "status=exited"], ["ps", "--filter", "label=tier=web", "--format", "{{.Names}} {{.Labels}}"],
            ["ps", "-a", "--format", "table {{.Names}}\t{{.Status}}\t{{.State}}"], ["ps", "--format", "{{json .Names}}"],
            ["images"], ["images", "-q"], ["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"],
            ["images", "--format", "table {{.Repository}}\t{{.Tag}}"], ["images", "busybox"],
            ["inspect", "-f", "{{.State.Status}} {{json .Config.Cmd}} {{index .Config.Labels \"tier\"}}", "lsweb"],
            ["inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", "lsweb"],
            ["inspect", "-f", "{{if .State.Running}}up{{else}}down {{.State.ExitCode}}{{end}}", "lsweb", "lsdone"],
            ["inspect", "-f", "{{.Id}}", "busybox"], ["version", "--format", "{{.Server.Version}} {{.Server.Os}}"],
            ["info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.Images}}"],
        ]
        for arguments in same {
            let docker = daemon.docker(arguments), berth = daemon.berth(arguments)
            // docker lists the repositories of one image in Go's map order (random): compare those as sets.
            // Relative times ("1 second ago") may tick between the two commands: compare them as words, not widths.
            let comparable = { (text: String) -> String in
                var lines = text.split(separator: "\n").map { line in
                    line.replacingOccurrences(of: #"(Less than a second|About a minute|\d+ seconds?|\d+ minutes?)"#, with: "T", options: .regularExpression)
                        .replacingOccurrences(of: #" {2,}"#, with: "\t", options: .regularExpression)
                }
                if arguments[0] == "images" { lines.sort() }
                return lines.joined(separator: "\n")
            }
            #expect(comparable(berth.stdout) == comparable(docker.stdout), "berth \(arguments.joined(separator: " "))\n\(berth.stdout)\nvs docker\n\(docker.stdout)")
            #expect(berth.status == docker.status, "\(arguments)")
        }
        // inspect without a format: the same objects (docker keeps the daemon's key order, berth sorts keys).
        let dockerJSON = try JSONSerialization.jsonObject(with: Data(daemon.docker("inspect", "lsweb", "busybox").stdout.utf8)) as? NSArray
        let berthJSON = try JSONSerialization.jsonObject(with: Data(daemon.berth("inspect", "lsweb", "busybox").stdout.utf8)) as? NSArray
        #expect(dockerJSON != nil && dockerJSON == berthJSON)
        let missing = daemon.berth("inspect", "nosuchthing")
        #expect(missing.status == 1 && missing.stderr == "Error: No such object: nosuchthing\n" && missing.stdout == "[]\n")
        #expect(daemon.berth("tag", "busybox", "third:v3").status == 0)
        #expect(daemon.berth("rmi", "third:v3").stdout == "Untagged: third:v3\n")
    }

    @Test func badInputGetsDockerMessagesAndCodes() throws {
        let daemon = try DaemonHarness("cli-bad")
        defer { daemon.shutdown() }
        let unknown = daemon.berth("pss")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("'pss' is not a berth command") && unknown.stderr.contains("\tps"))
        let flag = daemon.berth("run", "--bogus", "busybox")
        #expect(flag.status == 125)
        #expect(flag.stderr.contains("--bogus") && flag.stderr.contains("See 'berth run --help'."))
        #expect(daemon.berth("rename", "onlyone").status == 125)
        let down = daemon.berth("ps", environment: ["DOCKER_HOST": "unix://\(daemon.dir)/nothing.sock"])
        #expect(down.status == 1)
        #expect(down.stderr == "Cannot connect to the Berth daemon at unix://\(daemon.dir)/nothing.sock. Is berthd running?\n")
        let viaFlag = daemon.berth("-H", "unix://\(daemon.dir)/nothing.sock", "ps")
        #expect(viaFlag.stderr.contains("nothing.sock. Is berthd running?"))
        let template = daemon.berth("ps", "--format", "{{.Nope")
        #expect(template.status != 0 && template.stderr.contains("template"))
    }

    @Test func interactiveTerminalResizeAndDetachKeys() throws {
        let daemon = try DaemonHarness("cli-tty")
        defer { daemon.shutdown() }
        let terminal = try TerminalSession(daemon, docker: "run -it --name clitty --network none busybox sh",
                                           program: DaemonHarness.binaries + "/berth")
        defer { terminal.close() }
        terminal.expectShellTypingAndResize()
        terminal.type("C-p", "C-q")
        #expect(Command.eventually { terminal.exitStatus == "0\n" })
        #expect(daemon.berth("inspect", "-f", "{{.State.Running}}", "clitty").stdout == "true\n")
        let again = try TerminalSession(daemon, docker: "exec -it clitty sh", program: DaemonHarness.binaries + "/berth")
        defer { again.close() }
        #expect(Command.eventually(timeout: 20) { again.screen.contains("/ #") })
        again.type("exit 6", "Enter")
        #expect(Command.eventually { again.exitStatus == "6\n" })
    }
}

/// The entry point's answers without a daemon: help as docker prints it (exit 0), version,
/// and the error paths (docker's exit codes: 125 for usage, 1 for an unknown command).
@Suite("berth entry point")
struct BerthEntryPointTests {
    static func berth(_ arguments: [String]) -> CapturedRun {
        Command.capture([TestEnvironment.binaries + "/berth"] + arguments, environment: ["DOCKER_HOST": "unix:///nonexistent.sock"], timeout: 30)
    }

    @Test("help for the root, groups and commands, however it is asked", arguments: [
        ([], "OVERVIEW: A container engine"), (["--help"], "OVERVIEW: A container engine"), (["-h"], "OVERVIEW: A container engine"),
        (["help"], "OVERVIEW: A container engine"), (["help", "run"], "USAGE: berth run"), (["run", "--help"], "USAGE: berth run"),
        (["run", "--name", "x", "--help"], "USAGE: berth run"), (["image", "ls", "-h"], "USAGE: berth image ls"),
        (["container", "--help"], "USAGE: berth container <subcommand>"),
    ])
    func help(arguments: [String], expected: String) {
        let result = Self.berth(arguments)
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        #expect(result.stdout.contains(expected), "\(arguments): \(result.stdout)")
        #expect(!result.stdout.contains("CommandError") && result.stderr.isEmpty, "\(arguments)")
    }

    @Test("a container command's own --help goes to the container")
    func helpAfterTheImageIsTheContainers() {
        // No daemon answers: the run is attempted (exit 1 on the connection), not the help printed.
        let result = Self.berth(["run", "busybox", "ls", "--help"])
        #expect(result.status != 0)
        #expect(!result.stdout.contains("OVERVIEW"))
    }

    @Test("version, unknown flag, missing argument, unknown command")
    func errors() {
        let version = Self.berth(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("berth version "), "\(version.stdout)")
        let flag = Self.berth(["ps", "--bogus"])
        #expect(flag.status == 125 && flag.stderr.contains("Unknown option '--bogus'") && flag.stderr.contains("See 'berth ps --help'."), "\(flag.stderr)")
        let missing = Self.berth(["run"])
        #expect(missing.status == 125 && missing.stderr.contains("Missing expected argument"), "\(missing.stderr)")
        let unknown = Self.berth(["frobnicate"])
        #expect(unknown.status == 1 && unknown.stderr.contains("'frobnicate' is not a berth command"), "\(unknown.stderr)")
    }
}
