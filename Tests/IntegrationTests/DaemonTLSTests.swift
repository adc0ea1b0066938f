import BerthTestSupport
import Foundation
import Testing

/// berthd on TCP with TLS, as `dockerd --tlsverify`: certificates made here with openssl.
@Suite("berthd over TCP with TLS")
struct DaemonTLSTests {
    /// A CA, a server certificate for 127.0.0.1 and a client certificate, in `directory`
    /// (`ca.pem`, `server-cert.pem`, `server-key.pem`; the client's in `client/` as the docker CLI wants them).
    static func makeCertificates(in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory + "/client", withIntermediateDirectories: true)
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=berth-test-ca"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", "server-cert.pem",
             "-days", "2", "-extfile", "server.ext"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client/key.pem", "-out", "client.csr", "-subj", "/CN=client"],
            ["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", "client/cert.pem",
             "-days", "2", "-extfile", "client.ext"],
        ]
        try "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: directory + "/client.ext", atomically: true, encoding: .utf8)
        for step in steps {
            let result = Command.capture(["sh", "-c", "cd \"$0\" && exec openssl \"$@\"", directory] + step, timeout: 30)
            guard result.status == 0 else { throw HarnessFailure("openssl \(step[0]): \(result.stderr)") }
        }
        try FileManager.default.copyItem(atPath: directory + "/ca.pem", toPath: directory + "/client/ca.pem")
    }

    @Test func dockerCLIRunsContainersOverMutualTLS() throws {
        let certs = "/tmp/bi-tls-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: certs) }
        try Self.makeCertificates(in: certs)
        let port = Int.random(in: 20000...40000)
        let address = "tcp://127.0.0.1:\(port)"
        let daemon = try DaemonHarness("tls", extraArguments: [
            "-H", address, "--tlsverify", "--tlscacert", certs + "/ca.pem",
            "--tlscert", certs + "/server-cert.pem", "--tlskey", certs + "/server-key.pem",
        ])
        defer { daemon.shutdown() }
        func remote(_ arguments: [String], certPath: String? = certs + "/client", stdin: String? = nil) -> CapturedRun {
            var environment = ["DOCKER_HOST": address, "DOCKER_CONFIG": daemon.dir + "/client"]
            if let certPath { environment["DOCKER_CERT_PATH"] = certPath; environment["DOCKER_TLS_VERIFY"] = "1" }
            return Command.capture(["docker"] + arguments, stdin: stdin, environment: environment, timeout: 60)
        }
        #expect(remote(["version", "--format", "{{.Server.Os}}"]).stdout == "linux\n")
        #expect(remote(["run", "--rm", "--pull", "never", "--network", "none", "busybox", "echo", "over tls"]).stdout == "over tls\n")
        // A hijacked stream (stdin and output of attach) through TLS.
        #expect(remote(["run", "--rm", "-i", "--pull", "never", "--network", "none", "busybox", "tr", "a-z", "A-Z"], stdin: "encrypted\n").stdout == "ENCRYPTED\n")
        // No client certificate: the handshake fails, nothing is served.
        let anonymous = Command.capture(["curl", "-s", "--cacert", certs + "/ca.pem", "https://127.0.0.1:\(port)/_ping"], timeout: 10)
        #expect(anonymous.status != 0)
        let withCert = Command.capture(["curl", "-s", "--cacert", certs + "/ca.pem", "--cert", certs + "/client/cert.pem",
                                        "--key", certs + "/client/key.pem", "https://127.0.0.1:\(port)/_ping"], timeout: 10)
        #expect(withCert.stdout == "OK")

        // berth: the same daemon through flags, through the environment, and through a context
        // that the docker CLI sees too (one store in DOCKER_CONFIG).
        let client = certs + "/client"
        let flags = daemon.berth(["-H", address, "--tlsverify", "--tlscacert", client + "/ca.pem", "--tlscert", client + "/cert.pem",
                                  "--tlskey", client + "/key.pem", "run", "--rm", "--network", "none", "busybox", "echo", "berth over tls"],
                                 environment: ["DOCKER_HOST": ""])
        #expect(flags.stdout == "berth over tls\n", "\(flags.stderr)")
        let environment = ["DOCKER_HOST": address, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": client]
        let piped = daemon.berth(["run", "--rm", "-i", "--network", "none", "busybox", "tr", "a-z", "A-Z"], stdin: "hijacked\n", environment: environment)
        #expect(piped.stdout == "HIJACKED\n", "\(piped.stderr)")
        // The wrong CA: the daemon's certificate is refused, nothing is sent.
        let otherCA = certs + "/other"
        try Self.makeCertificates(in: otherCA)
        let refused = daemon.berth(["version", "--format", "{{.Server.Os}}"], environment: ["DOCKER_HOST": address, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": otherCA + "/client"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("Cannot connect") || refused.stderr.contains("certificate"), "\(refused.stderr)")

        let noHost = ["DOCKER_HOST": ""]
        let created = daemon.berth(["context", "create", "remote", "--description", "TLS test",
                                    "--docker", "host=\(address),ca=\(client)/ca.pem,cert=\(client)/cert.pem,key=\(client)/key.pem"], environment: noHost)
        #expect(created.status == 0 && created.stdout == "remote\n", "\(created.stderr)")
        #expect(daemon.berth(["--context", "remote", "version", "--format", "{{.Server.Os}}"], environment: noHost).stdout == "linux\n")
        #expect(daemon.berth(["context", "show"], environment: ["DOCKER_HOST": "", "DOCKER_CONTEXT": "remote"]).stdout == "remote\n")
        #expect(daemon.berth(["info", "--format", "{{.OSType}}"], environment: ["DOCKER_HOST": "", "DOCKER_CONTEXT": "remote"]).stdout == "linux\n")
        #expect(daemon.berth(["context", "use", "remote"], environment: noHost).stdout == "remote\n")
        #expect(daemon.berth(["ps", "-a", "--format", "{{.Names}}"], environment: noHost).status == 0)
        #expect(daemon.berth(["context", "show"], environment: noHost).stdout == "remote\n")
        // The docker CLI reads the same store and the same current context.
        let dockerList = Command.capture(["docker", "context", "ls", "--format", "{{.Name}} {{.Current}} {{.DockerEndpoint}}"],
                                         environment: ["DOCKER_CONFIG": daemon.dir + "/client"], timeout: 30)
        #expect(dockerList.stdout.contains("remote true \(address)"), "\(dockerList.stdout) \(dockerList.stderr)")
        let dockerVersion = Command.capture(["docker", "version", "--format", "{{.Server.Os}}"],
                                            environment: ["DOCKER_CONFIG": daemon.dir + "/client"], timeout: 30)
        #expect(dockerVersion.stdout == "linux\n", "\(dockerVersion.stderr)")
        let listed = daemon.berth(["context", "ls"], environment: noHost).stdout
        #expect(listed.contains("remote *   TLS test"), "\(listed)")
        #expect(daemon.berth(["-H", address, "--context", "remote", "ps"], environment: noHost).status == 125)
        let inUse = daemon.berth(["context", "rm", "remote"], environment: noHost)
        #expect(inUse.status == 1 && inUse.stderr.contains("in use"))
        #expect(daemon.berth(["context", "use", "default"], environment: noHost).status == 0)
        #expect(daemon.berth(["context", "rm", "remote"], environment: noHost).stdout == "remote\n")
        #expect(daemon.berth(["context", "ls", "-q"], environment: noHost).stdout == "default\n")
    }

    @Test func missingCertificatesAreRefusedAtStart() throws {
        let dir = "/tmp/bi-tlsbad-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = Command.capture([DaemonHarness.binaries + "/berthd", "-H", "unix://\(dir)/d.sock", "-H", "tcp://127.0.0.1:1",
                                      "--tlsverify", "--tlscacert", dir + "/none.pem", "--tlscert", dir + "/none.pem", "--tlskey", dir + "/none.pem",
                                      "--data-root", dir + "/data", "--exec-root", dir + "/run", "--config-file", dir + "/daemon.json"], timeout: 20)
        #expect(result.status == 1)
        #expect(result.stderr.contains("could not load the TLS certificate \(dir)/none.pem"))
    }
}
