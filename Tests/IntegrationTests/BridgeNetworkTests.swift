import BerthTestSupport
import Foundation
import Testing

/// The default bridge network: real namespaces, veths and nftables. Traffic goes only between
/// the host and the containers the test starts: each daemon has a bridge and a subnet of its
/// own, and the host's side is a server the test runs on the bridge's gateway address.
@Suite("the default bridge network")
struct BridgeNetworkTests {
    /// A daemon whose default network is a bridge of its own (`bridge`, `bip` in daemon.json).
    struct BridgeDaemon {
        let daemon: DaemonHarness
        let bridge: String
        let subnet: String
        let gateway: String

        /// `pooled`: no `bip`, and daemon.json's `default-address-pools` 10.199.0.0/16 in /24s
        /// (no other test uses 10.199): the default bridge takes the first, 10.199.0.0/24.
        init(_ name: String, pooled: Bool = false) throws {
            let third = Int.random(in: 0...255), second = Int.random(in: 200...250)
            bridge = "bt" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
            subnet = pooled ? "10.199.0" : "10.\(second).\(third)"
            gateway = subnet + ".1"
            // "dns": no name a test's container asks leaves the machine; 127.0.0.2 is where the
            // DNS test runs its fake upstream resolver.
            let addresses = pooled ? #""default-address-pools": [{"base": "10.199.0.0/16", "size": 24}]"# : #""bip": "\#(gateway)/24""#
            let settings = #"{"bridge": "\#(bridge)", \#(addresses), "dns": ["127.0.0.2"]}"#
            daemon = try DaemonHarness(name, daemonJSON: { _ in settings }, defaultNetwork: nil)
        }

        /// Removes the containers, stops the daemon, then what the bridge network left on the
        /// host: the bridge and Berth's table for it. Returns the veths still on the bridge
        /// before it went (none, if every container's went with its namespace).
        @discardableResult
        func tearDown() -> String {
            let ids = daemon.docker("ps", "-aq").stdout.split(separator: "\n").map(String.init)
            if !ids.isEmpty { daemon.docker(["rm", "-f"] + ids) }
            daemon.docker("network", "prune", "-f")
            var attached = ""
            _ = Command.eventually(timeout: 10) {
                attached = Command.capture(["ip", "-br", "link", "show", "master", bridge]).stdout
                return attached.isEmpty
            }
            daemon.shutdown()
            _ = Command.capture(["ip", "link", "del", bridge])
            _ = Command.capture(["nft", "delete", "table", "ip", "berth-" + bridge])
            return attached
        }
    }

    @Test func containersGetAnAddressAndReachTheHostAndEachOther() throws {
        let net = try BridgeDaemon("bridge")
        var cleaned = false
        defer { if !cleaned { net.tearDown() } }
        let daemon = net.daemon

        // The container's address is in the bridge's subnet, with the gateway as its route out.
        let inside = daemon.docker("run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0; ip route; cat /etc/hosts; ls /sys/class/net")
        #expect(inside.status == 0, "\(inside.stderr)")
        #expect(inside.stdout.contains("inet \(net.subnet).2/24"), "\(inside.stdout)")
        #expect(inside.stdout.contains("default via \(net.gateway) dev eth0"))
        #expect(inside.stdout.contains("\(net.subnet).2\t"), "the container's own address in /etc/hosts")
        #expect(inside.stdout.hasSuffix("eth0\nlo\n"))

        // A service of the test's on the gateway address answers the container.
        let server = try PythonServer { port in
            """
            import http.server, threading
            class Hello(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = b"hello from the host\\n"
                    self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *args): pass
            gateway = http.server.HTTPServer(("\(net.gateway)", \(port)), Hello)
            threading.Thread(target=gateway.serve_forever, daemon=True).start()
            http.server.HTTPServer(("127.0.0.1", \(port)), Hello).serve_forever()
            """
        }
        defer { server.stop() }
        let fetched = daemon.docker("run", "--rm", "busybox", "wget", "-qO-", "http://\(net.gateway):\(server.port)/")
        #expect(fetched.stdout == "hello from the host\n", "\(fetched.stderr)")
        // host-gateway is the default bridge's address, as with dockerd.
        let viaName = daemon.docker("run", "--rm", "--add-host", "host.docker.internal:host-gateway", "busybox",
                                    "wget", "-qO-", "http://host.docker.internal:\(server.port)/")
        #expect(viaName.stdout == "hello from the host\n", "\(viaName.stderr)")

        // Two containers on the bridge reach each other; inspect shows the address, the gateway
        // and Docker's MAC for it, under NetworkSettings and under Networks.bridge.
        #expect(daemon.docker("run", "-d", "--name", "web", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        let shown = daemon.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}} {{.NetworkSettings.Networks.bridge.IPAddress}} {{.HostConfig.NetworkMode}}", "web").stdout
        let address = String(shown.split(separator: " ").first ?? "")
        #expect(address.hasPrefix(net.subnet + ".") && shown.hasSuffix(" bridge\n"), "\(shown)")
        #expect(shown.contains(" \(net.gateway) 02:42:0a:") && shown.contains(" \(address) "), "\(shown)")
        let hostname = daemon.docker("run", "--rm", "busybox", "wget", "-qO-", "http://\(address)/hostname")
        #expect(hostname.status == 0 && hostname.stdout.count == 13, "\(hostname.stderr)")

        // --network container:web shares web's namespace: its address, its loopback, its hostname.
        let joined = daemon.docker("run", "--rm", "--network", "container:web", "busybox", "sh", "-c",
                                   "wget -qO- http://127.0.0.1/hostname; hostname; ip -4 -o addr show eth0")
        let lines = joined.stdout.split(separator: "\n")
        #expect(lines.count == 3 && lines[0] == lines[1] && lines[2].contains("inet \(address)/24"), "\(joined.stdout)\(joined.stderr)")
        let conflict = daemon.docker("run", "--rm", "--network", "container:web", "-p", "8080:80", "busybox", "true")
        #expect(conflict.stderr.contains("conflicting options: port publishing and the container type network mode"), "\(conflict.stderr)")
        #expect(daemon.docker("create", "--name", "idle", "busybox", "true").status == 0)
        let notRunning = daemon.docker("run", "--rm", "--network", "container:idle", "busybox", "true")
        #expect(notRunning.stderr.contains("cannot join network namespace of a non running container"), "\(notRunning.stderr)")

        // The predefined bridge network shows the daemon's own bridge settings.
        #expect(daemon.docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{index .Options \"com.docker.network.bridge.name\"}}", "bridge").stdout
            == "\(net.subnet).0/24 \(net.gateway) \(net.bridge)\n")

        // The Python SDK's default network is the bridge too; --network none still has only lo.
        let sdk = daemon.python("print(client.containers.run('busybox', 'ip -4 -o addr show eth0', remove=True).decode())")
        #expect(sdk.stdout.contains("inet \(net.subnet)."), "\(sdk.stderr)")
        #expect(daemon.docker("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net").stdout == "lo\n")

        // A stopped container gives its address back: the next one gets it again.
        #expect(daemon.docker("rm", "-f", "web").status == 0)
        let reused = daemon.docker("run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0").stdout
        #expect(reused.contains("inet \(net.subnet).2/24"), "\(reused)")

        // dockerd's network events for the containers' comings and goings.
        let events = daemon.docker("events", "--since", "0", "--until", "\(Int(Date().timeIntervalSince1970) + 1)", "--filter", "type=network",
                                   "--format", "{{.Action}} {{.Actor.Attributes.name}}").stdout
        #expect(events.contains("connect bridge\n") && events.contains("disconnect bridge\n"), "\(events)")

        // Nothing of the containers is left on the host's side.
        cleaned = true
        #expect(net.tearDown() == "")
        #expect(Command.capture(["ip", "link", "show", net.bridge]).status != 0)
    }

    @Test func publishedPortsServeTheHostWithoutAProxyProcess() throws {
        let net = try BridgeDaemon("ports")
        defer { net.tearDown() }
        let daemon = net.daemon
        let port = LoopbackRegistry.freePort(), udpPort = LoopbackRegistry.freePort()
        // busybox httpd on 80, published on 127.0.0.1 only; a UDP echo through nc on 53.
        #expect(daemon.docker("run", "-d", "--name", "web", "-p", "127.0.0.1:\(port):80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        let fetched = Command.capture(["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(port)/hostname"], timeout: 10)
        #expect(fetched.stdout.count == 13, "\(fetched.stdout)\(fetched.stderr)")
        // No process of Berth's listens on the port: the kernel forwards it.
        #expect(!Command.capture(["ss", "-ltnH", "sport = :\(port)"]).stdout.contains("\(port)"))
        #expect(daemon.docker("port", "web").stdout == "80/tcp -> 127.0.0.1:\(port)\n")
        #expect(daemon.docker("ps", "--format", "{{.Ports}}").stdout == "127.0.0.1:\(port)->80/tcp\n")
        // berth prints what docker prints; its own -p reaches the same rules.
        #expect(daemon.berth("ps", "--format", "{{.Ports}}").stdout == "127.0.0.1:\(port)->80/tcp\n")
        #expect(daemon.berth("port", "web").stdout == daemon.docker("port", "web").stdout)
        #expect(daemon.berth("port", "web", "80").stdout == "127.0.0.1:\(port)\n")
        let berthPort = LoopbackRegistry.freePort()
        #expect(daemon.berth("run", "-d", "--name", "bweb", "-p", "127.0.0.1:\(berthPort):80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        #expect(Command.capture(["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(berthPort)/hostname"], timeout: 10).stdout.count == 13)

        // UDP: an echo server of the test's inside the container's network namespace (busybox's
        // nc has no UDP), reached through the published port; the client retries, bounded.
        #expect(daemon.docker("run", "-d", "--name", "udp", "-p", "127.0.0.1:\(udpPort):53/udp", "busybox", "sleep", "60").status == 0)
        let pid = daemon.docker("inspect", "-f", "{{.State.Pid}}", "udp").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 53)); s.settimeout(10)\ndata, peer = s.recvfrom(100); s.sendto(data, peer)"
        let client = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
            for _ in range(50):
                s.sendto(b"ping\\n", ("127.0.0.1", \(udpPort)))
                try:
                    print(s.recv(100).decode(), end=""); break
                except socket.timeout:
                    pass
            """
        let echoed = Command.capture(["sh", "-c", "nsenter --net=/proc/\(pid)/ns/net python3 -c \"$0\" & python3 -c \"$1\"; wait", server, client], timeout: 20)
        #expect(echoed.stdout == "ping\n", "\(echoed.stdout)\(echoed.stderr)")

        // A taken port: dockerd's message, and nothing is left running.
        let taken = daemon.docker("run", "-d", "--name", "second", "-p", "127.0.0.1:\(port):80", "busybox", "sleep", "60")
        #expect(taken.status != 0 && taken.stderr.contains("Bind for 127.0.0.1:\(port) failed: port is already allocated"), "\(taken.stderr)")
        #expect(daemon.docker("inspect", "-f", "{{.State.Running}}", "second").stdout == "false\n")
        // -P: every exposed port on an ephemeral one, through the Python SDK too.
        let sdk = daemon.python("""
            c = client.containers.run('busybox', 'httpd -f -p 8080 -h /etc', detach=True, ports={'8080/tcp': None}, name='sdkweb')
            c.reload()
            print(c.ports['8080/tcp'][0]['HostPort'])
            """)
        let ephemeral = Int(sdk.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(ephemeral >= 1024, "\(sdk.stdout)\(sdk.stderr)")
        let viaSDK = Command.capture(["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(ephemeral)/hostname"], timeout: 10)
        #expect(viaSDK.stdout.count == 13, "\(viaSDK.stderr)")
        // Removed with the container: the port answers no more, the table keeps no rule for it.
        #expect(daemon.docker("rm", "-f", "web").status == 0)
        #expect(!Command.capture(["nft", "list", "table", "ip", "berth-" + net.bridge]).stdout.contains("dport \(port) "))
        #expect(Command.capture(["curl", "-s", "--max-time", "2", "http://127.0.0.1:\(port)/hostname"], timeout: 10).stdout.isEmpty)
        // A bad spec is refused at create, with dockerd's words.
        let bad = daemon.api("POST", "/v1.50/containers/create", body: #"{"Image":"busybox","HostConfig":{"PortBindings":{"80/bogus":[{"HostPort":"1"}]}}}"#)
        #expect(bad.status == 400 && bad.body.contains("invalid proto: bogus"), "\(bad.body)")
    }

    @Test func userNetworksConnectTheirContainersAndKeepOthersOut() throws {
        let net = try BridgeDaemon("usernet")
        defer { net.tearDown() }
        let daemon = net.daemon
        let second = Int.random(in: 200...250), third = Int.random(in: 0...250)
        let front = "10.\(second).\(third)", back = "10.\(second).\(third + 1)"
        #expect(daemon.docker("network", "create", "--subnet", front + ".0/24", "front").status == 0)
        let sdk = daemon.python("""
            import docker.types
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet='\(back).0/24', gateway='\(back).254')])
            n = client.networks.create('back', driver='bridge', ipam=ipam, labels={'tier': 'db'})
            print(n.attrs['IPAM']['Config'][0]['Gateway'])
            """)
        #expect(sdk.stdout == "\(back).254\n", "\(sdk.stderr)")
        let listed = daemon.docker("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}").stdout
        #expect(listed.split(separator: "\n").sorted() == ["back bridge local", "bridge bridge local", "front bridge local", "host host local", "none null local"], "\(listed)")
        #expect(daemon.docker("network", "ls", "-q", "--filter", "label=tier=db").stdout.count == 13)
        // berth's network commands print what docker's print.
        for arguments in [["network", "ls"], ["network", "ls", "--filter", "driver=bridge", "-q"], ["network", "inspect", "-f", "{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "back"]] {
            #expect(daemon.berth(arguments).stdout == daemon.docker(arguments).stdout, "\(arguments)")
        }
        #expect(daemon.berth("network", "create", "--subnet", "10.\(second).\(third + 2).0/24", "scratch").status == 0)
        #expect(daemon.berth("network", "rm", "scratch").stdout == "scratch\n")
        #expect(daemon.berth("network", "rm", "scratch").status == 1)

        #expect(daemon.docker("run", "-d", "--name", "web", "--network", "front", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "db", "--network", "back", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        let webIP = daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.front.IPAddress}}", "web").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let dbIP = daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.back.IPAddress}}", "db").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(webIP == front + ".2" && dbIP == back + ".1", "\(webIP) \(dbIP)")
        // On its own network a container reaches the others; across networks it does not.
        let same = daemon.docker("run", "--rm", "--network", "front", "busybox", "wget", "-qO-", "http://\(webIP)/hostname")
        #expect(same.status == 0 && same.stdout.count == 13, "\(same.stderr)")
        let across = daemon.docker("run", "--rm", "--network", "front", "busybox", "ping", "-c", "1", "-W", "1", dbIP)
        #expect(across.status != 0, "\(across.stdout)")
        // inspect lists the attached containers; a network in use cannot go.
        let members = daemon.docker("network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}", "front").stdout
        #expect(members == "web \(webIP)/24\n", "\(members)")
        let busy = daemon.docker("network", "rm", "front")
        #expect(busy.status != 0 && busy.stderr.contains("has active endpoints"), "\(busy.stderr)")

        // Bad input: dockerd's answers, and nothing is made.
        let overlap = daemon.docker("network", "create", "--subnet", front + ".128/25", "overlap")
        #expect(overlap.status != 0 && overlap.stderr.contains("Pool overlaps with other one on this address space"), "\(overlap.stderr)")
        #expect(daemon.docker("network", "create", "--subnet", "10.1.2.300/24", "badcidr").stderr.contains("invalid subnet"))
        // (The docker CLI checks a gateway itself; other clients rely on the daemon.)
        let badGateway = daemon.api("POST", "/v1.50/networks/create", body: #"{"Name":"badgw","IPAM":{"Config":[{"Subnet":"10.77.0.0/24","Gateway":"10.78.0.1"}]}}"#)
        #expect(badGateway.status == 400 && badGateway.body.contains("invalid gateway 10.78.0.1"), "\(badGateway.body)")
        #expect(daemon.docker("network", "create", "front").stderr.contains("network with name front already exists"))
        #expect(daemon.docker("network", "create", "-d", "overlay", "ovl").status != 0)
        #expect(daemon.docker("network", "rm", "bridge").stderr.contains("bridge is a pre-defined network and cannot be removed"))
        #expect(daemon.docker("network", "ls", "-q").stdout.split(separator: "\n").count == 5)

        // Removed when its containers have gone: the bridge goes with it.
        let bridge = "br-" + daemon.docker("network", "inspect", "-f", "{{.Id}}", "front").stdout.prefix(12)
        #expect(Command.capture(["ip", "link", "show", bridge]).status == 0)
        #expect(daemon.docker("rm", "-f", "web").status == 0)
        #expect(daemon.docker("network", "rm", "front").status == 0)
        #expect(Command.capture(["ip", "link", "show", bridge]).status != 0)
        #expect(!Command.capture(["nft", "list", "tables"]).stdout.contains(bridge))
    }

    @Test func containersOnAUserNetworkFindEachOtherByName() throws {
        let net = try BridgeDaemon("dns")
        var cleaned = false
        defer { if !cleaned { net.tearDown() } }
        let daemon = net.daemon
        let second = Int.random(in: 200...250), third = Int.random(in: 0...250)
        #expect(daemon.docker("network", "create", "--subnet", "10.\(second).\(third).0/24", "app").status == 0)
        #expect(daemon.docker("network", "create", "--subnet", "10.\(second).\(third + 1).0/24", "other").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "web", "--network", "app", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "hidden", "--network", "other", "busybox", "sleep", "60").status == 0)
        let webIP = daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.app.IPAddress}}", "web").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // By name, by name.network, by short ID; the resolver is 127.0.0.11.
        let byName = daemon.docker("run", "--rm", "--network", "app", "busybox", "sh", "-c",
                                   "cat /etc/resolv.conf; wget -qO- http://web/hostname; nslookup web.app; ping -c1 -W2 web >/dev/null && echo pinged")
        #expect(byName.stdout.contains("nameserver 127.0.0.11") && byName.stdout.contains("options ndots:0"), "\(byName.stdout)")
        #expect(byName.stdout.contains("Address: \(webIP)") && byName.stdout.hasSuffix("pinged\n"), "\(byName.stdout)\(byName.stderr)")
        let id = daemon.docker("inspect", "-f", "{{.Id}}", "web").stdout.prefix(12)
        #expect(daemon.docker("run", "--rm", "--network", "app", "busybox", "nslookup", String(id)).stdout.contains(webIP))
        // A name on another network is not this network's: it goes upstream, which does not know it.
        let hidden = daemon.docker("run", "--rm", "--network", "app", "busybox", "nslookup", "hidden")
        #expect(hidden.status != 0 && !hidden.stdout.contains("Address: 10."), "\(hidden.stdout)")
        // Other names go to the upstream resolvers: here a fake one of the test's on 127.0.0.2:53.
        let upstream = try PythonServer { port in
            """
            import socket, threading, http.server
            def answer(address, last):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((address, 53))
                while True:
                    q, peer = s.recvfrom(512)
                    end = q.index(0, 12) + 5
                    a = q[:2] + b"\\x81\\x80" + q[4:6] + b"\\x00\\x01\\x00\\x00\\x00\\x00" + q[12:end]
                    a += b"\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04" + bytes([192, 0, 2, last])
                    s.sendto(a, peer)
            threading.Thread(target=answer, args=("127.0.0.2", 99), daemon=True).start()
            threading.Thread(target=answer, args=("127.0.0.3", 98), daemon=True).start()
            http.server.HTTPServer(("127.0.0.1", \(port)), http.server.BaseHTTPRequestHandler).serve_forever()
            """
        }
        defer { upstream.stop() }
        let forwarded = daemon.docker("run", "--rm", "--network", "app", "busybox", "nslookup", "outside.test")
        #expect(forwarded.stdout.contains("Address: 192.0.2.99"), "\(forwarded.stdout)\(forwarded.stderr)")
        // A container's own --dns is its upstream, behind the embedded DNS that still knows the names.
        let own = daemon.docker("run", "--rm", "--network", "app", "--dns", "127.0.0.3", "busybox", "sh", "-c",
                                "nslookup outside.test; wget -qO- http://web/hostname; grep nameserver /etc/resolv.conf")
        #expect(own.stdout.contains("Address: 192.0.2.98") && own.stdout.hasSuffix("nameserver 127.0.0.11\n"), "\(own.stdout)\(own.stderr)")
        // Aliases (several containers on one name answer in turn) and a static address.
        #expect(daemon.docker("run", "-d", "--name", "api1", "--network", "app", "--network-alias", "api", "busybox", "sleep", "60").status == 0)
        #expect(daemon.berth("run", "-d", "--name", "api2", "--network", "app", "--network-alias", "api", "--ip", "10.\(second).\(third).200",
                             "busybox", "sleep", "60").status == 0)
        #expect(daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.app.IPAddress}} {{.NetworkSettings.Networks.app.Aliases}}", "api2").stdout
            == "10.\(second).\(third).200 [api]\n")
        let api = daemon.docker("run", "--rm", "--network", "app", "busybox", "sh", "-c", "nslookup api; nslookup api")
        #expect(api.stdout.contains("10.\(second).\(third).200") && api.stdout.components(separatedBy: "Address: 10.").count == 5, "\(api.stdout)")
        let takenIP = daemon.docker("run", "-d", "--network", "app", "--ip", "10.\(second).\(third).200", "busybox", "true")
        #expect(takenIP.status != 0 && takenIP.stderr.contains("Address already in use"), "\(takenIP.stderr)")
        // (The docker CLI refuses an alias on the default bridge itself; other clients rely on the daemon.)
        let aliasOnBridge = daemon.api("POST", "/v1.50/containers/create", body: #"{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["x"]}}}}"#)
        #expect(aliasOnBridge.status == 400 && aliasOnBridge.body.contains("network-scoped alias is supported only for containers in user defined networks"), "\(aliasOnBridge.body)")
        #expect(daemon.docker("run", "--rm", "--network", "app", "--ip", "10.9.9.9", "busybox", "true").stderr.contains("not in the subnet"))

        // While berthd is down (kill -9) the names still resolve: berth-dns serves them; after
        // its restart the running container is found by name again.
        let webPID = daemon.docker("inspect", "-f", "{{.State.Pid}}", "web").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Over TCP too (what a client does after a truncated UDP answer): both of api's addresses.
        let tcpQuery = """
            import socket, struct
            q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\\x03api\\x00" + struct.pack(">HH", 1, 1)
            s = socket.create_connection(("127.0.0.11", 53), timeout=5)
            s.sendall(struct.pack(">H", len(q)) + q)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk: break
                data += chunk
            print(struct.unpack(">H", data[8:10])[0])
            """
        let overTCP = Command.capture(["nsenter", "-t", webPID, "-n", "python3", "-c", tcpQuery])
        #expect(overTCP.stdout == "2\n", "\(overTCP.stdout)\(overTCP.stderr)")
        daemon.kill9()
        let during = Command.capture(["nsenter", "-t", webPID, "-n", "busybox", "nslookup", "api2", "127.0.0.11"])
        #expect(during.stdout.contains("Address: 10.\(second).\(third).200"), "\(during.stdout)\(during.stderr)")
        try daemon.start()
        #expect(daemon.docker("run", "--rm", "--network", "app", "busybox", "wget", "-qO-", "http://web/hostname").stdout.count == 13)
        // berth-dns killed under a running berthd: a new one serves the running containers.
        let killed = daemon.helperPIDs("berth-dns")
        #expect(killed.count == 1)
        for pid in killed { kill(pid, SIGKILL) }
        #expect(Command.eventually(timeout: 10) {
            Command.capture(["nsenter", "-t", webPID, "-n", "busybox", "nslookup", "api2", "127.0.0.11"]).stdout.contains("Address: 10.\(second).\(third).200")
        }, "names stopped resolving after berth-dns was killed")
        #expect(daemon.helperPIDs("berth-dns").count == 1 && daemon.helperPIDs("berth-dns") != killed)
        // The default bridge has no embedded DNS, as in Docker.
        #expect(!daemon.docker("run", "--rm", "busybox", "cat", "/etc/resolv.conf").stdout.contains("127.0.0.11"))
        // berth-dns ends with the last container it serves and berthd.
        #expect(daemon.helperPIDs("berth-dns").count == 1)
        cleaned = true
        net.tearDown()
        #expect(Command.eventually(timeout: 10) { daemon.helperPIDs("berth-dns").isEmpty }, "berth-dns outlived what it served")
    }

    @Test func macvlanAndIpvlanNetworksOnAVethParent() throws {
        let net = try BridgeDaemon("macvlan")
        // The parent: one end of a veth pair of the test's (this kernel has no dummy links).
        let parent = "vp" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        #expect(Command.capture(["ip", "link", "add", parent, "type", "veth", "peer", "name", parent + "b"]).status == 0)
        #expect(Command.capture(["ip", "link", "set", parent, "up"]).status == 0)
        #expect(Command.capture(["ip", "link", "set", parent + "b", "up"]).status == 0)
        defer {
            net.tearDown()
            _ = Command.capture(["ip", "link", "del", parent])
        }
        let daemon = net.daemon
        let second = Int.random(in: 200...250), third = Int.random(in: 0...250)
        // ipvlan where the kernel has it (this VM's has not: then the start says so).
        let probe = "iq" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let hasIpvlan = Command.capture(["ip", "link", "add", probe, "link", parent, "type", "ipvlan", "mode", "l2"]).status == 0
        _ = Command.capture(["ip", "link", "del", probe])
        if !hasIpvlan {
            #expect(daemon.docker("network", "create", "-d", "ipvlan", "--subnet", "10.\(second).\((third + 2) % 256).0/24", "-o", "parent=" + parent, "ipv").status == 0)
            let refused = daemon.docker("run", "--rm", "--pull", "never", "--network", "ipv", "busybox", "true")
            #expect(refused.status != 0 && refused.stderr.contains("this kernel has no ipvlan support"), "\(refused.stderr)")
            #expect(daemon.docker("network", "rm", "ipv").status == 0)
        }
        let drivers = hasIpvlan ? ["macvlan", "ipvlan"] : ["macvlan"]
        for (index, driver) in drivers.enumerated() {
            let prefix = "10.\(second).\((third + index) % 256)"
            #expect(daemon.docker("network", "create", "-d", driver, "--subnet", prefix + ".0/24", "-o", "parent=" + parent, driver + "net").status == 0)
            // `--pull never`: a create that fails with a 404 must not send the CLI to a registry.
            #expect(daemon.docker("run", "-d", "--pull", "never", "--name", driver + "1", "--network", driver + "net", "busybox",
                                  "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
            // Another container on the same parent reaches it, by name through the embedded DNS.
            let fetched = daemon.docker("run", "--rm", "--pull", "never", "--network", driver + "net", "busybox", "sh", "-c",
                                        "ip -4 -o addr show eth0; wget -qO- http://\(driver)1/hostname")
            #expect(fetched.stdout.contains("inet \(prefix).") && fetched.stdout.hasSuffix("\n") && fetched.status == 0, "\(driver): \(fetched.stdout)\(fetched.stderr)")
            #expect(daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.\(driver)net.IPAddress}}", driver + "1").stdout == prefix + ".2\n")
            #expect(daemon.docker("rm", "-f", driver + "1").status == 0)
            #expect(daemon.docker("network", "rm", driver + "net").status == 0)
        }
        let noParent = daemon.docker("network", "create", "-d", "macvlan", "-o", "parent=nosuchlink0", "bad")
        #expect(noParent.status != 0 && noParent.stderr.contains("-o parent interface was not found on the host: nosuchlink0"), "\(noParent.stderr)")
        #expect(daemon.docker("network", "create", "-d", "macvlan", "bad").stderr.contains("needs its parent interface"))
    }

    @Test func aDaemonRestartKeepsRunningContainersConnected() throws {
        let net = try BridgeDaemon("brestart")
        defer { net.tearDown() }
        let daemon = net.daemon
        #expect(daemon.docker("run", "-d", "--name", "stay", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        let before = daemon.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "stay").stdout
        daemon.kill9()
        try daemon.start()
        // The address is still the container's: the next container does not get it.
        #expect(daemon.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "stay").stdout == before)
        let other = daemon.docker("run", "--rm", "busybox", "wget", "-qO-", "http://\(before.trimmingCharacters(in: .whitespacesAndNewlines))/hostname")
        #expect(other.status == 0 && other.stdout.count == 13, "\(other.stderr)")
        let second = daemon.docker("run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0").stdout
        #expect(!second.contains("inet \(before.trimmingCharacters(in: .whitespacesAndNewlines))/"), "\(second)")
        // A published port keeps serving through a daemon crash, and after it.
        let port = LoopbackRegistry.freePort()
        #expect(daemon.docker("run", "-d", "--name", "pub", "-p", "127.0.0.1:\(port):80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        daemon.kill9()
        #expect(Command.capture(["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(port)/hostname"], timeout: 10).stdout.count == 13)
        try daemon.start()
        #expect(Command.capture(["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(port)/hostname"], timeout: 10).stdout.count == 13)
        #expect(daemon.docker("port", "pub", "80").stdout == "127.0.0.1:\(port)\n")
    }
}
