import BerthTestSupport
import Foundation
import Glibc
import Testing

/// Pulls through berthd from a loopback registry, and a pull cut short by SIGKILL of berthd.
@Suite("docker pull through berthd")
struct DaemonPullTests {
    @Test func pullKilledWithTheDaemonLeavesAConsistentStore() throws {
        let registry = try LoopbackRegistry()
        defer { registry.stop() }
        let reference = try registry.pushBigImage()
        let daemon = try DaemonHarness("pull")
        defer { daemon.shutdown() }

        // The small image first: progress lines and the final status, as docker prints them.
        let small = daemon.docker("pull", "\(registry.host)/library/busybox:latest")
        #expect(small.status == 0, "\(small.stderr)\n\(daemon.log)")
        // The loaded busybox already holds the layer: docker says so.
        #expect(small.stdout.contains("Already exists") && small.stdout.contains("Status: Downloaded newer image for \(registry.host)/library/busybox:latest"))
        #expect(daemon.docker("run", "--rm", "--network", "none", "\(registry.host)/library/busybox", "echo", "pulled").stdout == "pulled\n")
        // berth's pull: the same status lines, then the full reference, as the docker CLI prints them.
        let viaBerth = daemon.berth("pull", "\(registry.host)/library/busybox")
        #expect(viaBerth.status == 0, "\(viaBerth.stderr)")
        #expect(viaBerth.stdout.hasSuffix("Status: Image is up to date for \(registry.host)/library/busybox:latest\n\(registry.host)/library/busybox:latest\n"), "\(viaBerth.stdout)")

        // The big one: kill berthd while a layer is arriving in the ingest area.
        var pid: pid_t = 0
        let argv = ["/usr/bin/env", "DOCKER_HOST=\(daemon.host)", "docker", "pull", "-q", reference]
        let args = argv.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        try #require(posix_spawn(&pid, argv[0], nil, nil, args, environ) == 0 && pid > 0)
        let ingest = daemon.dir + "/data/content/ingest"
        let downloading = Command.eventually(timeout: 30) {
            !((try? FileManager.default.contentsOfDirectory(atPath: ingest)) ?? []).isEmpty
        }
        daemon.kill9()
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(downloading)

        try daemon.start()
        let images = daemon.docker("images", "--format", "{{.Repository}}").stdout
        #expect(!images.contains("library/big"), "a half-pulled image is not listed")
        let again = daemon.docker("pull", reference, timeout: 120)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.contains("\(registry.host)/library/big:latest"))
        let missing = daemon.docker("pull", "\(registry.host)/library/nothing:here")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("library/nothing"))
        // As dockerd: a pull that fails before any progress is an error status, not a 200 stream.
        #expect(missing.stderr.contains("Error response from daemon"), "\(missing.stderr)")
        let answer = daemon.api("POST", "/images/create?fromImage=\(registry.host)/library/nothing&tag=here")
        #expect(answer.status == 404, "\(answer.status) \(answer.body)")
    }

    @Test func berthLoginPushAndLogoutAgainstARegistryWithBasicAuth() throws {
        let registry = try LoopbackRegistry(htpasswd: "pusher:s3cret")
        defer { registry.stop() }
        let daemon = try DaemonHarness("push")
        defer { daemon.shutdown() }
        let target = "\(registry.host)/library/mine:v1"
        #expect(daemon.berth("tag", "busybox", target).status == 0)
        let anonymous = daemon.berth("push", target)
        #expect(anonymous.status == 1, "\(anonymous.stdout)")
        let wrong = daemon.berth("login", "-u", "pusher", "--password-stdin", registry.host, stdin: "nope\n")
        #expect(wrong.status == 1 && wrong.stderr.contains("Error response from daemon"), "\(wrong.stderr)")
        let login = daemon.berth("login", "-u", "pusher", "--password-stdin", registry.host, stdin: "s3cret\n")
        #expect(login.stdout == "Login Succeeded\n", "\(login.stderr)")
        let config = try String(contentsOfFile: daemon.dir + "/client/config.json", encoding: .utf8)
        #expect(config.contains(Data("pusher:s3cret".utf8).base64EncodedString()))
        // On a terminal: one line per layer, redrawn in place from "Preparing" to "Pushed".
        let terminal = try TerminalSession(daemon, docker: "push \(target)", program: DaemonHarness.binaries + "/berth", keepScreen: true)
        defer { terminal.close() }
        #expect(Command.eventually(timeout: 30) { terminal.exitStatus != nil })
        let screen = terminal.screen
        #expect(terminal.exitStatus == "0\n", "\(screen)")
        let layerLines = screen.split(separator: "\n").filter { $0.hasSuffix(": Pushed") }
        // (piped, "Preparing" and "Pushing" would stay on lines of their own)
        #expect(!layerLines.isEmpty && !screen.contains("Preparing") && !screen.contains("Pushing") && screen.contains("v1: digest: sha256:"), "\(screen)")
        // Piped: one plain line per layer state, then docker's digest line.
        #expect(daemon.berth("tag", "busybox", "\(registry.host)/library/mine:v2").status == 0)
        let push = daemon.berth("push", "\(registry.host)/library/mine:v2")
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout.contains("The push refers to repository [\(registry.host)/library/mine]"), "\(push.stdout)")
        #expect(push.stdout.contains(": Layer already exists\n") && push.stdout.contains("v2: digest: sha256:"), "\(push.stdout)")
        // The docker CLI uses the credentials berth stored (same DOCKER_CONFIG).
        #expect(daemon.berth("rmi", target).status == 0)
        let pulled = daemon.docker("pull", target)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(daemon.berth("logout", registry.host).stdout == "Removing login credentials for \(registry.host)\n")
        #expect(daemon.berth("logout", registry.host).stdout == "Not logged in to \(registry.host)\n")
        #expect(daemon.berth("rmi", target).status == 0)
        #expect(daemon.berth("pull", target).status == 1)
    }

    /// A TCP proxy to `target` that passes at most `rate` bytes a second towards the client.
    static func throttlingProxy(to target: Int, rate: Int) throws -> PythonServer {
        try PythonServer { port in
            """
            import asyncio
            async def pipe(reader, writer, rate):
                try:
                    while True:
                        data = await reader.read(16384)
                        if not data: break
                        writer.write(data)
                        await writer.drain()
                        if rate: await asyncio.sleep(len(data) / rate)
                finally:
                    writer.close()
            async def handle(client_reader, client_writer):
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", \(target))
                await asyncio.gather(pipe(client_reader, upstream_writer, 0), pipe(upstream_reader, client_writer, \(rate)),
                                     return_exceptions=True)
            async def main():
                server = await asyncio.start_server(handle, "127.0.0.1", \(port))
                await server.serve_forever()
            asyncio.run(main())
            """
        }
    }

    @Test func ctrlCStopsAPullOnATerminalCleanly() throws {
        let registry = try LoopbackRegistry()
        defer { registry.stop() }
        let reference = try registry.pushBigImage()
        let registryPort = Int(registry.host.split(separator: ":").last!)!
        let proxy = try Self.throttlingProxy(to: registryPort, rate: 4 << 20)
        defer { proxy.stop() }
        let daemon = try DaemonHarness("pull-int")
        defer { daemon.shutdown() }
        let slow = reference.replacingOccurrences(of: registry.host, with: "127.0.0.1:\(proxy.port)")
        let terminal = try TerminalSession(daemon, docker: "pull \(slow)", program: DaemonHarness.binaries + "/berth", keepScreen: true)
        defer { terminal.close() }
        // Bars while the layers arrive, then Ctrl-C.
        #expect(Command.eventually(timeout: 60) { terminal.screen.contains(": Downloading [") }, "\(terminal.screen)")
        terminal.type("C-c")
        #expect(Command.eventually(timeout: 30) { terminal.exitStatus != nil })
        #expect(terminal.exitStatus == "130\n", "\(terminal.screen)")
        // The daemon is fine and lists nothing half pulled; the pull can be made again.
        #expect(daemon.berth("images", "--format", "{{.Repository}}").stdout == "busybox\n")
        let again = daemon.berth(["pull", "-q", reference], timeout: 120)
        #expect(again.status == 0 && again.stdout == reference + "\n", "\(again.stderr)")
    }
}
