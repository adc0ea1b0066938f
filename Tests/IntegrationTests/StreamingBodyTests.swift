import BerthTestSupport
import Foundation
import Testing

/// Archives of any size flow through berthd in bounded chunks: uploads (`import`, `load`,
/// `cp` into a container) are written to a scratch file as they arrive, downloads (`save`,
/// `export`) are read from one as the client takes them.
@Suite("streamed request and response bodies")
struct StreamingBodyTests {
    @Test func importSaveAndLoadOfALargeImageKeepTheDaemonSmall() throws {
        let daemon = try DaemonHarness("stream")
        defer { daemon.shutdown() }
        // A 256 MiB layer of random bytes (nothing compresses it).
        let root = daemon.dir + "/bigroot"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        #expect(Command.capture(["/bin/sh", "-c", "head -c 268435456 /dev/urandom > \(root)/blob && tar -C \(root) -cf \(daemon.dir)/big.tar blob && rm \(root)/blob"], timeout: 120).status == 0)
        let imported = daemon.docker(["import", daemon.dir + "/big.tar", "big:1"], timeout: 300)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(daemon.docker("history", "--format", "{{.Comment}}", "big:1").stdout == "Imported from -\n")
        let saved = daemon.docker(["save", "-o", daemon.dir + "/saved.tar", "big:1"], timeout: 300)
        #expect(saved.status == 0, "\(saved.stderr)")
        let size = (try? FileManager.default.attributesOfItem(atPath: daemon.dir + "/saved.tar")[.size] as? Int) ?? 0
        #expect(size > 268_435_456, "saved archive of \(size) bytes")
        #expect(daemon.docker("rmi", "big:1").status == 0)
        let loaded = daemon.docker(["load", "-i", daemon.dir + "/saved.tar"], timeout: 300)
        #expect(loaded.stdout == "Loaded image: big:1\n", "\(loaded.stderr)")
        // Each of those bodies once sat in memory whole (twice over): the peak stays far below one.
        let peak = DaemonMemoryTests.statusKiB(daemon.pid, "VmHWM") ?? .max
        #expect(peak < 128 * 1024, "berthd peaked at \(peak) KiB")
        let imageSize = Int(daemon.docker("image", "inspect", "-f", "{{.Size}}", "big:1").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(imageSize >= 268_435_456, "loaded image of \(imageSize) bytes")
        #expect(Self.scratchEntries(daemon).isEmpty)

        // A client that hangs up part-way through a save: the writer sees a broken pipe, the
        // daemon goes on serving; its children still start with SIGPIPE's default action.
        let hungUp = daemon.python("""
            import socket
            s = socket.socket(socket.AF_UNIX)
            s.connect('\(daemon.socket)')
            s.sendall(b'GET /v1.50/images/get?names=big:1 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
            got = 0
            while got < (4 << 20):
                got += len(s.recv(65536))
            s.close()
            print('read', got >= (4 << 20))
            """)
        #expect(hungUp.stdout == "read True\n", "\(hungUp.stderr)")
        let ignored = daemon.docker("run", "--rm", "--network", "none", "busybox", "grep", "SigIgn", "/proc/self/status")
        let mask = UInt64(ignored.stdout.split(separator: "\t").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "", radix: 16)
        #expect(mask.map { $0 & (1 << (UInt64(SIGPIPE) - 1)) == 0 } == true, "\(ignored.stdout) \(ignored.stderr)")
        #expect(daemon.docker("image", "inspect", "-f", "{{.Id}}", "big:1").status == 0)
    }

    @Test func aTruncatedUploadLeavesNothingAndTheDaemonServes() throws {
        let daemon = try DaemonHarness("truncup")
        defer { daemon.shutdown() }
        let images = daemon.docker("images", "-q").stdout
        // 1 MiB of a promised 10 MiB, then the client hangs up.
        let sent = daemon.python("""
            import socket
            s = socket.socket(socket.AF_UNIX)
            s.connect('\(daemon.socket)')
            s.sendall(b'POST /v1.50/images/load?quiet=1 HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/x-tar\\r\\nContent-Length: 10485760\\r\\n\\r\\n' + b'\\0' * 1048576)
            s.close()
            print('sent')
            """)
        #expect(sent.stdout == "sent\n", "\(sent.stderr)")
        #expect(Command.eventually(timeout: 20) { Self.scratchEntries(daemon).isEmpty }, "\(Self.scratchEntries(daemon))")
        // A plain "tar" that is not one: refused, nothing stored or left behind.
        try String(repeating: "not a tar archive\n", count: 10_000).write(toFile: daemon.dir + "/junk.tar", atomically: true, encoding: .utf8)
        let junk = daemon.docker("import", daemon.dir + "/junk.tar", "junk:1")
        #expect(junk.status != 0 && junk.stderr.contains("Error response from daemon"), "\(junk.stderr)")
        #expect(Command.eventually(timeout: 20) { Self.scratchEntries(daemon).isEmpty }, "\(Self.scratchEntries(daemon))")
        #expect(daemon.docker("images", "-q").stdout == images)
        #expect(daemon.docker("run", "--rm", "--network", "none", "busybox", "echo", "still").stdout == "still\n")
    }

    @Test func oversizedJSONBodiesAndRefusedUploadsAreAnsweredNotReset() throws {
        let daemon = try DaemonHarness("bigbody")
        defer { daemon.shutdown() }
        // A JSON body announced above the limit is refused before it is read.
        let refused = daemon.python("""
            import socket
            s = socket.socket(socket.AF_UNIX)
            s.connect('\(daemon.socket)')
            s.sendall(b'POST /v1.50/containers/create HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 100000000\\r\\n\\r\\n{')
            print(s.recv(4096).split(b'\\r\\n')[0].decode())
            """)
        #expect(refused.stdout == "HTTP/1.1 413 Payload Too Large\n", "\(refused.stdout) \(refused.stderr)")
        #expect(daemon.docker("ps", "-aq").stdout.isEmpty)
        // An upload to a container that does not exist: the SDK reads the 404 although it
        // was still sending 32 MiB when the daemon answered.
        let missing = daemon.python("""
            try:
                client.api.put_archive('nosuchcontainer', '/', b'\\0' * (32 << 20))
                print('accepted')
            except docker.errors.NotFound as error:
                print('404', 'nosuchcontainer' in str(error))
            """)
        #expect(missing.stdout == "404 True\n", "\(missing.stdout) \(missing.stderr)")
        #expect(Self.scratchEntries(daemon).isEmpty)
        // A client that asks before sending (curl, for large uploads) is told to go on.
        let asked = daemon.python("""
            import socket
            s = socket.socket(socket.AF_UNIX)
            s.connect('\(daemon.socket)')
            s.sendall(b'POST /v1.50/images/load?quiet=1 HTTP/1.1\\r\\nHost: x\\r\\nExpect: 100-continue\\r\\nContent-Length: 5\\r\\n\\r\\n')
            print(s.recv(4096).split(b'\\r\\n')[0].decode())
            s.sendall(b'junk!')
            reply = b''
            while b'\\r\\n\\r\\n' not in reply:
                reply += s.recv(4096)
            print(reply.split(b'\\r\\n')[0].decode())
            """)
        #expect(asked.stdout == "HTTP/1.1 100 Continue\nHTTP/1.1 400 Bad Request\n", "\(asked.stdout) \(asked.stderr)")
        #expect(daemon.docker("version", "-f", "{{.Server.Version}}").status == 0)
    }

    /// What is left in the daemon's scratch directory.
    static func scratchEntries(_ daemon: DaemonHarness) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: daemon.dir + "/data/tmp")) ?? []
    }
}
