import BerthTestSupport
import Foundation
import Testing

/// The json-file log driver's options through the docker CLI: rotation, compression, extra
/// attributes with `logs --details`, and dockerd's refusals.
@Suite("json-file log driver")
struct LogDriverTests {
    @Test func rotatedFilesAreCompressedAndStillRead() throws {
        let daemon = try DaemonHarness("logrot")
        defer { daemon.shutdown() }
        let run = daemon.docker("run", "-d", "--network", "none", "--log-opt", "max-size=2k", "--log-opt", "max-file=3",
                                "--log-opt", "compress=true", "busybox", "sh", "-c", "seq 1 400 | sed 's/^/line-/'")
        #expect(run.status == 0, "\(run.stderr)")
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(daemon.docker("wait", id).stdout == "0\n")
        let directory = daemon.dir + "/data/containers/\(id)"
        let log = "\(directory)/\(id)-json.log"
        // Compression runs in the background: eventually FILE.1.gz and FILE.2.gz, and no more files.
        #expect(Command.eventually {
            let names = Set(((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains("json.log") })
            return names == ["\(id)-json.log", "\(id)-json.log.1.gz", "\(id)-json.log.2.gz"]
        })
        let gz = try #require(FileManager.default.contents(atPath: log + ".1.gz"))
        #expect(gz.prefix(2) == Data([0x1f, 0x8b]))
        #expect((FileManager.default.contents(atPath: log)?.count ?? 0) <= 2000)
        // docker logs reads through the compressed files: the newest lines, in order, without a gap.
        let lines = daemon.docker("logs", id).stdout.split(separator: "\n").map(String.init)
        #expect(lines.last == "line-400")
        let numbers = lines.compactMap { Int($0.dropFirst(5)) }
        #expect(numbers.count == lines.count && numbers.count > 30 && numbers.count < 400)
        #expect(numbers == Array(numbers.first!...400), "\(lines.prefix(3)) … \(lines.suffix(3))")
        #expect(daemon.docker("logs", "--tail", "2", id).stdout == "line-399\nline-400\n")
    }

    @Test func labelsEnvAndTagBecomeAttributesShownByDetails() throws {
        let daemon = try DaemonHarness("logattr")
        defer { daemon.shutdown() }
        let run = daemon.docker("run", "--name", "tagged", "--network", "none", "--label", "app=web", "--label", "other=x",
                                "-e", "REGION=eu west", "--log-opt", "labels=app", "--log-opt", "env=REGION",
                                "--log-opt", "tag={{.Name}}/{{.ID}}", "busybox", "echo", "hi")
        #expect(run.status == 0, "\(run.stderr)")
        let id = daemon.docker("inspect", "-f", "{{.Id}}", "tagged").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let line = try String(contentsOfFile: daemon.dir + "/data/containers/\(id)/\(id)-json.log", encoding: .utf8)
        #expect(line.hasPrefix(#"{"log":"hi\n","stream":"stdout","attrs":{"REGION":"eu west","app":"web","tag":"tagged/\#(id.prefix(12))"},"time":""#),
                "\(line)")
        #expect(daemon.docker("logs", "--details", "tagged").stdout == "REGION=eu+west,app=web,tag=tagged%2F\(id.prefix(12)) hi\n")
        #expect(daemon.docker("logs", "tagged").stdout == "hi\n")
        // Without attributes, --details keeps dockerd's leading space.
        #expect(daemon.docker("run", "--name", "plain", "--network", "none", "busybox", "echo", "x").status == 0)
        #expect(daemon.docker("logs", "--details", "plain").stdout == " x\n")
    }

    @Test func badOptionsAreRefusedAtCreate() throws {
        let daemon = try DaemonHarness("logbad")
        defer { daemon.shutdown() }
        let cases: [([String], String)] = [
            (["--log-opt", "foo=bar"], "unknown log opt 'foo' for json-file log driver"),
            (["--log-opt", "compress=true"], "compress cannot be true when max-file is less than 2 or max-size is not set"),
            (["--log-opt", "max-size=1m", "--log-opt", "compress=yes", "--log-opt", "max-file=2"], "strconv.ParseBool: parsing \"yes\""),
            (["--log-opt", "max-file=0"], "max-file cannot be less than 1"),
            (["--log-opt", "max-size=ten"], "invalid size: 'ten'"),
        ]
        for (options, message) in cases {
            let run = daemon.docker(["run", "--rm", "--network", "none"] + options + ["busybox", "true"])
            #expect(run.status == 125, "\(options)")
            #expect(run.stderr.contains(message), "\(options): \(run.stderr)")
        }
        #expect(daemon.docker("ps", "-aq").stdout.isEmpty)
        // The none driver takes no json-file options and keeps no log.
        #expect(daemon.docker("run", "--rm", "--network", "none", "--log-driver", "none", "busybox", "echo", "gone").stdout == "gone\n")
    }
}
