import BerthTestSupport
import Foundation
import Testing

/// Containers on several networks: `network connect`/`disconnect` on running and stopped
/// containers, several `--network` at create, the gateway chosen among them with the published
/// ports following it, a MAC address of the user's. Traffic only between the host and the
/// test's containers.
@Suite("network connect and disconnect")
struct NetworkConnectTests {
    typealias BridgeDaemon = BridgeNetworkTests.BridgeDaemon

    @Test func aRunningContainerJoinsAndLeavesANetwork() throws {
        let net = try BridgeDaemon("connect")
        defer { net.tearDown() }
        let daemon = net.daemon
        let second = Int.random(in: 200...250), third = Int.random(in: 0...250)
        let alpha = "10.\(second).\(third)", beta = "10.\(second).\(third + 1)"
        #expect(daemon.docker("network", "create", "--subnet", alpha + ".0/24", "alpha").status == 0)
        #expect(daemon.docker("network", "create", "--subnet", beta + ".0/24", "beta").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "app", "--network", "beta", "-p", "127.0.0.1::80", "busybox",
                              "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "peer", "--network", "alpha", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        let port = daemon.docker("port", "app", "80").stdout.split(separator: ":").last.map { String($0.dropLast()) } ?? ""
        func fetch() -> CapturedRun { Command.capture(["curl", "-sS", "--max-time", "5", "http://127.0.0.1:\(port)/hostname"]) }
        #expect(fetch().stdout.count == 13, "published before the connect: \(port)")
        #expect(daemon.docker("exec", "app", "nslookup", "peer").status != 0, "peer is on another network")

        // Connected: a second interface with an address of alpha's; alpha sorts first, so it
        // gives the default route now, and the published port follows it.
        let connected = daemon.docker("network", "connect", "--alias", "api", "alpha", "app")
        #expect(connected.status == 0, "\(connected.stderr)")
        let inside = daemon.docker("exec", "app", "sh", "-c", "ip -4 -o addr show; ip route").stdout
        #expect(inside.contains("eth0    inet \(beta).2/24") && inside.contains("eth1    inet \(alpha).3/24"), "\(inside)")
        #expect(inside.contains("default via \(alpha).1 dev eth1"), "\(inside)")
        #expect(fetch().stdout.count == 13, "the published port after the gateway moved")
        let networks = daemon.docker("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}}{{$v.Aliases}} {{end}}", "app").stdout
        #expect(networks == "alpha=\(alpha).3[api] beta=\(beta).2[] \n", "\(networks)")
        #expect(daemon.docker("network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", "alpha").stdout.contains("app"))
        // Names on both networks now: peer finds app by its alias, app finds peer.
        let byAlias = daemon.docker("exec", "peer", "wget", "-qO-", "http://api/hostname")
        #expect(byAlias.status == 0 && byAlias.stdout.count == 13, "\(byAlias.stderr)")
        #expect(daemon.docker("exec", "app", "wget", "-qO-", "http://peer/hostname").stdout.count == 13)
        #expect(daemon.docker("exec", "app", "grep", "-c", "\(alpha).3", "/etc/hosts").stdout == "1\n")

        // dockerd's refusals.
        let again = daemon.docker("network", "connect", "alpha", "app")
        #expect(again.status != 0 && again.stderr.contains("endpoint with name app already exists in network alpha"), "\(again.stderr)")
        let toHost = daemon.docker("network", "connect", "host", "app")
        #expect(toHost.stderr.contains("container cannot be disconnected from host network or connected to host network"), "\(toHost.stderr)")
        #expect(daemon.docker("run", "-d", "--name", "lonely", "--network", "none", "busybox", "sleep", "60").status == 0)
        let fromNone = daemon.docker("network", "connect", "alpha", "lonely")
        #expect(fromNone.stderr.contains("private (none) mode"), "\(fromNone.stderr)")
        let missing = daemon.docker("network", "connect", "alpha", "nosuch")
        #expect(missing.status != 0 && missing.stderr.contains("No such container: nosuch"), "\(missing.stderr)")

        // Disconnected: the interface goes, the route and the port go back to beta, and the
        // alias no longer resolves on alpha.
        let disconnected = daemon.docker("network", "disconnect", "alpha", "app")
        #expect(disconnected.status == 0, "\(disconnected.stderr)")
        let after = daemon.docker("exec", "app", "sh", "-c", "ls /sys/class/net; ip route").stdout
        #expect(after.hasPrefix("eth0\nlo\n") && after.contains("default via \(beta).1 dev eth0"), "\(after)")
        #expect(fetch().stdout.count == 13, "the published port back on beta")
        #expect(daemon.docker("exec", "peer", "nslookup", "api").status != 0)
        let notThere = daemon.docker("network", "disconnect", "alpha", "app")
        #expect(notThere.status != 0 && notThere.stderr.contains("is not connected to network alpha"), "\(notThere.stderr)")
        let events = daemon.docker("events", "--since", "0", "--until", "0s", "--filter", "type=network", "--filter", "event=disconnect",
                                   "--format", "{{.Actor.Attributes.name}}").stdout
        #expect(events.contains("alpha"), "\(events)")

        // The Python SDK's Network.connect/disconnect, with aliases.
        let sdk = daemon.python("""
            net = client.networks.get('alpha')
            net.connect('app', aliases=['svc'])
            c = client.containers.get('app')
            print(sorted(c.attrs['NetworkSettings']['Networks']), c.attrs['NetworkSettings']['Networks']['alpha']['Aliases'])
            net.disconnect('app')
            print(sorted(client.containers.get('app').attrs['NetworkSettings']['Networks']))
            """)
        #expect(sdk.stdout == "['alpha', 'beta'] ['svc']\n['beta']\n", "\(sdk.stdout)\(sdk.stderr)")
        // And berth's own commands.
        #expect(daemon.berth("network", "connect", "--alias", "b2", "alpha", "app").status == 0)
        #expect(daemon.docker("exec", "peer", "nslookup", "b2").stdout.contains("Address: \(alpha)."))
        #expect(daemon.berth("network", "disconnect", "alpha", "app").status == 0)
        #expect(daemon.docker("exec", "app", "ls", "/sys/class/net").stdout == "eth0\nlo\n")
    }

    @Test func containersOnSeveralNetworksFromTheStart() throws {
        let net = try BridgeDaemon("multinet")
        defer { net.tearDown() }
        let daemon = net.daemon
        let second = Int.random(in: 200...250), third = Int.random(in: 0...250)
        let red = "10.\(second).\(third)", blue = "10.\(second).\(third + 1)"
        #expect(daemon.docker("network", "create", "--subnet", red + ".0/24", "red").status == 0)
        #expect(daemon.docker("network", "create", "--subnet", blue + ".0/24", "blue").status == 0)

        // Two --network: an interface on each, the gateway by GwPriority (blue here, though red
        // sorts first), and a MAC address of the user's on the first.
        let both = daemon.docker("run", "--rm", "--network", "name=red,mac-address=02:42:de:ad:be:ef", "--network", "name=blue,gw-priority=5",
                                 "busybox", "sh", "-c", "ip -4 -o addr show | sort; ip route; cat /sys/class/net/eth0/address")
        #expect(both.status == 0, "\(both.stderr)")
        #expect(both.stdout.contains("eth0    inet \(red).2/24") && both.stdout.contains("eth1    inet \(blue).2/24"), "\(both.stdout)")
        #expect(both.stdout.contains("default via \(blue).1 dev eth1") && both.stdout.hasSuffix("02:42:de:ad:be:ef\n"), "\(both.stdout)")
        let badMAC = daemon.docker("run", "--rm", "--network", "red", "--mac-address", "01:00:5e:00:00:01", "busybox", "true")
        #expect(badMAC.status != 0 && badMAC.stderr.contains("invalid MAC address"), "\(badMAC.stderr)")

        // A stopped container is put on a network for its next start; one taken off it starts without.
        #expect(daemon.docker("create", "--name", "later", "--network", "red", "busybox", "ls", "/sys/class/net").status == 0)
        #expect(daemon.docker("network", "connect", "blue", "later").status == 0)
        #expect(daemon.docker("inspect", "-f", "{{len .NetworkSettings.Networks}}", "later").stdout == "2\n")
        #expect(daemon.docker("start", "-a", "later").stdout == "eth0\neth1\nlo\n")
        #expect(daemon.docker("network", "disconnect", "red", "later").status == 0)
        #expect(daemon.docker("start", "-a", "later").stdout == "eth0\nlo\n")

        // The Python SDK's mac_address (the container-wide field of older APIs) is the network's.
        let sdk = daemon.python("print(client.containers.run('busybox', 'cat /sys/class/net/eth0/address', network='red', mac_address='02:42:00:00:00:07', remove=True).decode(), end='')")
        #expect(sdk.stdout == "02:42:00:00:00:07\n", "\(sdk.stdout)\(sdk.stderr)")
        // host and none take no other network.
        let hostAndMore = daemon.api("POST", "/v1.50/containers/create", body: #"{"Image":"busybox","HostConfig":{"NetworkMode":"host"},"NetworkingConfig":{"EndpointsConfig":{"red":{}}}}"#)
        #expect(hostAndMore.status == 400 && hostAndMore.body.contains("connected to host network"), "\(hostAndMore.body)")
    }

    @Test func linksGiveNamesAddressesAndVariables() throws {
        let net = try BridgeDaemon("links")
        defer { net.tearDown() }
        let daemon = net.daemon
        // Legacy links on the default bridge: /etc/hosts and the ALIAS_ variables.
        #expect(daemon.docker("run", "-d", "--name", "db", "-e", "SECRET=s3", "--expose", "5432", "--expose", "53/udp", "busybox",
                              "httpd", "-f", "-p", "5432", "-h", "/etc").status == 0)
        let dbIP = daemon.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "db").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let dbID = String(daemon.docker("inspect", "-f", "{{.Id}}", "db").stdout.prefix(12))
        let linked = daemon.docker("run", "--name", "web", "--link", "db:webdb", "-e", "WEBDB_ENV_SECRET=mine", "busybox", "sh", "-c",
                                   "env | grep ^WEBDB_ | sort; grep webdb /etc/hosts; wget -qO- http://webdb:5432/hostname")
        #expect(linked.status == 0, "\(linked.stderr)")
        let expected = [
            "WEBDB_ENV_SECRET=mine", "WEBDB_NAME=/web/webdb",
            // ALIAS_PORT is the lowest port; `sort` puts 53_ before 5432.
            "WEBDB_PORT=udp://\(dbIP):53", "WEBDB_PORT_53_UDP=udp://\(dbIP):53", "WEBDB_PORT_53_UDP_ADDR=\(dbIP)",
            "WEBDB_PORT_53_UDP_PORT=53", "WEBDB_PORT_53_UDP_PROTO=udp", "WEBDB_PORT_5432_TCP=tcp://\(dbIP):5432",
            "WEBDB_PORT_5432_TCP_ADDR=\(dbIP)", "WEBDB_PORT_5432_TCP_PORT=5432", "WEBDB_PORT_5432_TCP_PROTO=tcp",
            "\(dbIP)\twebdb \(dbID) db",
        ]
        #expect(linked.stdout.split(separator: "\n").prefix(expected.count).map(String.init) == expected, "\(linked.stdout)")
        #expect(linked.stdout.hasSuffix("\n") && linked.stdout.split(separator: "\n").last?.count == 12, "\(linked.stdout)")
        #expect(daemon.docker("inspect", "-f", "{{.HostConfig.Links}}", "web").stdout == "[/db:/web/webdb]\n")
        let sdk = daemon.python("print(client.containers.run('busybox', 'grep sdkdb /etc/hosts', links={'db': 'sdkdb'}, remove=True).decode(), end='')")
        #expect(sdk.stdout.hasPrefix("\(dbIP)\tsdkdb "), "\(sdk.stdout)\(sdk.stderr)")
        let berth = daemon.berth("run", "--rm", "--link", "db", "busybox", "sh", "-c", "echo $DB_ENV_SECRET")
        #expect(berth.stdout == "s3\n", "\(berth.stderr)")
        // dockerd's refusals: a target that does not exist, or does not run.
        // (--pull never: the docker CLI answers any 404 of a create with a pull.)
        let missing = daemon.docker("run", "--rm", "--pull", "never", "--link", "nosuch:x", "busybox", "true")
        #expect(missing.status != 0 && missing.stderr.contains("could not get container for nosuch"), "\(missing.stderr)")
        let missingAPI = daemon.api("POST", "/v1.50/containers/create", body: #"{"Image":"busybox","HostConfig":{"Links":["nosuch:x"]}}"#)
        #expect(missingAPI.status == 404 && missingAPI.body.contains("could not get container for nosuch"), "\(missingAPI)")
        #expect(daemon.docker("create", "--name", "off", "busybox", "true").status == 0)
        let stopped = daemon.docker("run", "--rm", "--name", "linker", "--link", "off", "busybox", "true")
        #expect(stopped.stderr.contains("Cannot link to a non running container: /off AS /linker/off"), "\(stopped.stderr)")

        // On a user-defined network a link is a name only the linking container resolves.
        #expect(daemon.docker("network", "create", "--subnet", "10.\(Int.random(in: 200...250)).\(Int.random(in: 0...255)).0/24", "lnet").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "target", "--network", "lnet", "busybox", "sleep", "60").status == 0)
        let targetIP = daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.lnet.IPAddress}}", "target").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(daemon.docker("run", "-d", "--name", "user", "--network", "lnet", "--link", "target:tgt", "busybox", "sleep", "60").status == 0)
        #expect(daemon.docker("exec", "user", "nslookup", "tgt").stdout.contains("Address: \(targetIP)"))
        #expect(daemon.docker("run", "--rm", "--network", "lnet", "busybox", "nslookup", "tgt").status != 0, "another container has no such name")
        #expect(daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.lnet.Links}}", "user").stdout == "[target:tgt]\n")
    }

    @Test func addressPoolsAndAuxiliaryAddresses() throws {
        let net = try BridgeDaemon("pools", pooled: true)
        defer { net.tearDown() }
        let daemon = net.daemon
        // Without bip the default bridge takes the pools' first free subnet; a new network the next.
        #expect(daemon.docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "bridge").stdout == "10.199.0.0/24 10.199.0.1\n")
        #expect(daemon.docker("run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0").stdout.contains("inet 10.199.0.2/24"))
        #expect(daemon.docker("network", "create", "pooled").status == 0)
        #expect(daemon.docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "pooled").stdout == "10.199.1.0/24\n")
        // --aux-address: addresses the network never gives.
        let second = Int.random(in: 200...250), third = Int.random(in: 0...255)
        let created = daemon.docker("network", "create", "--subnet", "10.\(second).\(third).0/29", "--aux-address", "router=10.\(second).\(third).2",
                                    "--aux-address", "printer=10.\(second).\(third).3", "aux")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(daemon.docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.AuxiliaryAddresses}}{{end}}", "aux").stdout
            == "map[printer:10.\(second).\(third).3 router:10.\(second).\(third).2]\n")
        #expect(daemon.docker("run", "--rm", "--network", "aux", "busybox", "ip", "-4", "-o", "addr", "show", "eth0").stdout.contains("inet 10.\(second).\(third).4/29"))
        let outside = daemon.docker("network", "create", "--subnet", "10.\(second).\(third).8/29", "--aux-address", "x=10.9.9.9", "aux2")
        #expect(outside.status != 0 && outside.stderr.contains("no matching subnet for aux-address 10.9.9.9"), "\(outside.stderr)")
    }

    @Test func dualStackNetworks() throws {
        let net = try BridgeDaemon("ipv6")
        defer { net.tearDown() }
        let daemon = net.daemon
        let second = Int.random(in: 200...250), third = Int.random(in: 0...255)
        let prefix = "fd" + String(format: "%02x:%x:%x", Int.random(in: 0...255), Int.random(in: 1...0xffff), Int.random(in: 1...0xffff))
        let created = daemon.docker("network", "create", "--ipv6", "--subnet", "10.\(second).\(third).0/24", "--subnet", prefix + "::/64", "dual")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(daemon.docker("network", "inspect", "-f", "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}},{{.Gateway}} {{end}}", "dual").stdout
            == "true 10.\(second).\(third).0/24,10.\(second).\(third).1 \(prefix)::/64,\(prefix)::1 \n")

        // Both families on eth0, both default routes, AAAA records for the names.
        #expect(daemon.docker("run", "-d", "--name", "v6web", "--network", "dual", "-p", "80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        #expect(daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.dual.GlobalIPv6Address}}/{{.NetworkSettings.Networks.dual.GlobalIPv6PrefixLen}} {{.NetworkSettings.Networks.dual.IPv6Gateway}}", "v6web").stdout
            == "\(prefix)::2/64 \(prefix)::1\n")
        let inside = daemon.docker("run", "--rm", "--network", "dual", "busybox", "sh", "-c",
                                   "ip -6 -o addr show eth0 scope global; ip -6 route show default; nslookup -type=AAAA v6web; wget -qO- http://[\(prefix)::2]/hostname")
        #expect(inside.stdout.contains("inet6 \(prefix)::3/64") && inside.stdout.contains("default via \(prefix)::1 dev eth0"), "\(inside.stdout)\(inside.stderr)")
        #expect(inside.stdout.contains("Address: \(prefix)::2") && inside.stdout.hasSuffix("\n") && inside.status == 0, "\(inside.stdout)\(inside.stderr)")
        #expect(daemon.docker("run", "--rm", "--network", "dual", "busybox", "ping", "-6", "-c", "1", "-W", "2", "v6web").status == 0)
        // The host reaches the container over IPv6, directly and through the published port.
        #expect(Command.capture(["curl", "-sg", "--max-time", "5", "http://[\(prefix)::2]/hostname"]).stdout.count == 13)
        let ports = daemon.docker("port", "v6web", "80").stdout.split(separator: "\n").map(String.init)
        #expect(ports.count == 2 && ports[0].hasPrefix("0.0.0.0:") && ports[1].hasPrefix("[::]:"), "\(ports)")
        let hostPort = ports.first?.split(separator: ":").last.map(String.init) ?? ""
        #expect(Command.capture(["curl", "-sg", "--max-time", "5", "http://[\(prefix)::1]:\(hostPort)/hostname"]).stdout.count == 13)
        let columns = ["ps", "-f", "name=v6web", "--format", "{{.Ports}}"]
        #expect(daemon.docker(columns).stdout == "0.0.0.0:\(hostPort)->80/tcp, [::]:\(hostPort)->80/tcp\n")
        #expect(daemon.berth(columns).stdout == daemon.docker(columns).stdout)
        // A static IPv6 address; the Python SDK; a random unique local /64 without --subnet.
        #expect(daemon.berth("run", "--rm", "--network", "dual", "--ip6", prefix + "::99", "busybox", "ip", "-6", "-o", "addr", "show", "eth0").stdout
            .contains("inet6 \(prefix)::99/64"))
        let sdk = daemon.python("""
            import docker.types
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet='\(prefix):1::/64')])
            n = client.networks.create('dual2', enable_ipv6=True, ipam=ipam)
            print(n.attrs['EnableIPv6'], [c['Subnet'] for c in n.attrs['IPAM']['Config']][1])
            """)
        #expect(sdk.stdout == "True \(prefix):1::/64\n", "\(sdk.stdout)\(sdk.stderr)")
        #expect(daemon.docker("network", "create", "--ipv6", "dual3").status == 0)
        let random = daemon.docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", "dual3").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(random.split(separator: " ").count == 2 && random.contains(" fd") && random.contains("::/64"), "\(random)")
        // dockerd's refusals, by name.
        let v6WithoutFlag = daemon.docker("network", "create", "--subnet", "fd00:77::/64", "nov6")
        #expect(v6WithoutFlag.status != 0 && v6WithoutFlag.stderr.contains("without --ipv6"), "\(v6WithoutFlag.stderr)")
        let v4Network = daemon.docker("run", "--rm", "--pull", "never", "--network", "bridge", "--ip6", "fd00::5", "busybox", "true")
        #expect(v4Network.status != 0, "\(v4Network.stderr)")
    }

    @Test func bridgeOptionsAsDockerdReadsThem() throws {
        let net = try BridgeDaemon("bropts")
        defer { net.tearDown() }
        let daemon = net.daemon
        let second = Int.random(in: 200...250), third = Int.random(in: 0...250)
        // enable_icc=false: containers of the network do not reach each other; the host they do.
        let isolated = "bi" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        #expect(daemon.docker("network", "create", "--subnet", "10.\(second).\(third).0/24", "-o", "com.docker.network.bridge.enable_icc=false",
                              "-o", "com.docker.network.bridge.enable_ip_masquerade=false", "-o", "com.docker.network.bridge.name=" + isolated, "iso").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "alone", "--network", "iso", "busybox", "sleep", "60").status == 0)
        let aloneIP = daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.iso.IPAddress}}", "alone").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(daemon.docker("run", "--rm", "--network", "iso", "busybox", "ping", "-c", "1", "-W", "1", aloneIP).status != 0)
        #expect(daemon.docker("run", "--rm", "--network", "iso", "busybox", "ping", "-c", "1", "-W", "2", "10.\(second).\(third).1").status == 0)
        let table = Command.capture(["nft", "list", "table", "ip", "berth-" + isolated]).stdout
        #expect(table.contains("ct status dnat masquerade") && !table.contains("oifname != \"\(isolated)\" masquerade"), "\(table)")
        // host_binding_ipv4: where -p without an address publishes.
        #expect(daemon.docker("network", "create", "--subnet", "10.\(second).\(third + 1).0/24", "-o", "com.docker.network.bridge.host_binding_ipv4=127.0.0.1", "bound").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "bound1", "--network", "bound", "-p", "80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").status == 0)
        let port = daemon.docker("port", "bound1", "80").stdout
        #expect(port.hasPrefix("127.0.0.1:") && port.split(separator: "\n").count == 1, "\(port)")
        // Values and options dockerd would not take.
        let badValue = daemon.docker("network", "create", "-o", "com.docker.network.bridge.enable_icc=maybe", "bad1")
        #expect(badValue.status != 0 && badValue.stderr.contains("invalid value maybe for com.docker.network.bridge.enable_icc"), "\(badValue.stderr)")
        let unknown = daemon.docker("network", "create", "-o", "com.docker.network.bridge.gateway_mode_ipv4=routed", "bad2")
        #expect(unknown.status != 0 && unknown.stderr.contains("com.docker.network.bridge.gateway_mode_ipv4 is not supported"), "\(unknown.stderr)")
        #expect(daemon.docker("network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.enable_icc\"}}", "bridge").stdout == "true\n")
    }

    @Test func internalAndHostNetworks() throws {
        let net = try BridgeDaemon("internal")
        defer { net.tearDown() }
        let daemon = net.daemon
        let second = Int.random(in: 200...250), third = Int.random(in: 0...250)
        #expect(daemon.docker("network", "create", "--internal", "--subnet", "10.\(second).\(third).0/24", "closed").status == 0)
        #expect(daemon.docker("network", "create", "--subnet", "10.\(second).\(third + 1).0/24", "open").status == 0)
        #expect(daemon.docker("run", "-d", "--name", "outside", "--network", "open", "busybox", "sleep", "60").status == 0)
        let outsideIP = daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.open.IPAddress}}", "outside").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // --internal: no default route, nothing beyond the network; its own members it reaches.
        #expect(daemon.docker("run", "-d", "--name", "inner", "--network", "closed", "busybox", "sleep", "60").status == 0)
        let routes = daemon.docker("exec", "inner", "ip", "route").stdout
        #expect(!routes.contains("default") && routes.contains("10.\(second).\(third).0/24"), "\(routes)")
        #expect(daemon.docker("exec", "inner", "ping", "-c", "1", "-W", "1", outsideIP).status != 0)
        #expect(daemon.docker("run", "--rm", "--network", "closed", "busybox", "ping", "-c", "1", "-W", "2", "inner").status == 0)
        #expect(daemon.docker("network", "inspect", "-f", "{{.Internal}}", "closed").stdout == "true\n")
        // Connected to an open network too, it gets its default route from there.
        #expect(daemon.docker("network", "connect", "open", "inner").status == 0)
        #expect(daemon.docker("exec", "inner", "ip", "route").stdout.contains("default via 10.\(second).\(third + 1).1"))
        // --network host: the host's interfaces and hostname.
        let openBridge = "br-" + daemon.docker("network", "inspect", "-f", "{{.Id}}", "open").stdout.prefix(12)
        let host = daemon.docker("run", "--rm", "--network", "host", "busybox", "sh", "-c", "ls /sys/class/net; hostname; cat /etc/hostname")
        let lines = host.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains(openBridge) && lines.contains("lo"), "\(host.stdout)")
        #expect(lines.suffix(2) == [ProcessInfo.processInfo.hostName, ProcessInfo.processInfo.hostName], "\(host.stdout)")
    }
}
