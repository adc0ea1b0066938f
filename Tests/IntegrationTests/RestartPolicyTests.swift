import BerthTestSupport
import Foundation
import Testing

/// Restart policies as dockerd applies them: the backoff between restarts, `RestartCount`,
/// `on-failure:N`, and which stopped containers a daemon start brings back.
@Suite("restart policies")
struct RestartPolicyTests {
    @Test("on-failure:3 restarts three times with a doubling delay from 100 ms, then stays exited")
    func backoffAndRetryLimit() throws {
        let daemon = try DaemonHarness("backoff")
        defer { daemon.shutdown() }
        let since = String(Int(Date().timeIntervalSince1970) - 1)
        #expect(daemon.docker("run", "-d", "--name", "flapper", "--restart", "on-failure:3", "busybox", "sh", "-c", "exit 3").status == 0)
        #expect(Command.eventually(timeout: 20) {
            daemon.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", "flapper").stdout == "exited 3 3\n"
        })
        let until = String(Int(Date().timeIntervalSince1970) + 1)
        let events = daemon.docker("events", "--since", since, "--until", until, "--filter", "container=flapper",
                                   "--filter", "event=start", "--filter", "event=die", "--format", "{{.TimeNano}} {{.Action}}").stdout
        let lines = events.split(separator: "\n").map { $0.split(separator: " ") }
        #expect(lines.map { String($0[1]) } == ["start", "die", "start", "die", "start", "die", "start", "die"], "\(events)")
        // Each restart comes at least its delay after the exit before it: 100, 200, 400 ms.
        let times = lines.compactMap { Int64($0[0]) }
        for (index, delay) in [100, 200, 400].enumerated() where times.count == 8 {
            let gap = (times[2 * index + 2] - times[2 * index + 1]) / 1_000_000
            #expect(gap >= Int64(delay), "restart \(index + 1) came \(gap) ms after the exit")
        }
        // A user's start runs it once more, and the policy's count goes on.
        #expect(daemon.docker("start", "flapper").status == 0)
        #expect(Command.eventually { daemon.docker("inspect", "-f", "{{.State.Status}}", "flapper").stdout == "exited\n" })
    }

    @Test("a daemon start brings back always and unless-stopped containers, not those a user stopped (always ones even then)")
    func containersComeBackAtDaemonStart() throws {
        let daemon = try DaemonHarness("restore", daemonJSON: { _ in #"{"live-restore": false, "dns": ["127.0.0.2"]}"# })
        defer { daemon.shutdown() }
        for (name, policy) in [("always-up", "always"), ("unless-up", "unless-stopped"), ("always-stopped", "always"),
                               ("unless-stopped", "unless-stopped"), ("plain", "no")] {
            #expect(daemon.docker("run", "-d", "--name", name, "--restart", policy, "busybox", "sleep", "600").status == 0)
        }
        #expect(daemon.docker("create", "--name", "never-started", "--restart", "always", "busybox", "sleep", "600").status == 0)
        #expect(daemon.docker("stop", "-t", "0", "always-stopped", "unless-stopped").status == 0)
        // A stopped unless-stopped container is not restarted by its exit either.
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}}", "unless-stopped").stdout == "exited\n")

        daemon.terminate()
        try daemon.start()
        let expected = ["always-up": "running", "unless-up": "running", "always-stopped": "running",
                        "unless-stopped": "exited", "plain": "exited", "never-started": "created"]
        for (name, status) in expected {
            #expect(daemon.docker("inspect", "-f", "{{.State.Status}}", name).stdout == status + "\n", "\(name)")
        }
        #expect(daemon.docker("exec", "always-stopped", "true").status == 0)

        // After a crash, the next berthd (without live restore) kills what was left running and
        // starts the always ones again; a container a user killed counts as stopped by the user.
        #expect(daemon.docker("kill", "unless-up").status == 0)
        #expect(daemon.docker("start", "unless-stopped").status == 0)
        daemon.kill9()
        try daemon.start()
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}}", "always-up").stdout == "running\n")
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}}", "unless-stopped").stdout == "running\n")
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}}", "unless-up").stdout == "exited\n")
        #expect(daemon.docker("rm", "-f", "always-up", "unless-up", "always-stopped", "unless-stopped", "plain", "never-started").status == 0)
    }

    @Test("health checks: --health-start-interval probes often during the start period; --no-healthcheck turns the image's off; berth's flags as docker's")
    func healthChecks() throws {
        let daemon = try DaemonHarness("health")
        defer { daemon.shutdown() }
        // An interval of an hour: only the start interval can make it healthy within the test.
        for (tool, name) in [("docker", "checked"), ("berth", "berth-checked")] {
            let arguments = ["run", "-d", "--name", name, "--health-cmd", "test -e /tmp/ready", "--health-interval", "1h",
                             "--health-start-period", "5m", "--health-start-interval", "100ms", "--health-retries", "2",
                             "busybox", "sh", "-c", "touch /tmp/ready; exec sleep 600"]
            #expect((tool == "docker" ? daemon.docker(arguments) : daemon.berth(arguments)).status == 0, "\(tool)")
            #expect(Command.eventually { daemon.docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout == "healthy\n" }, "\(tool)")
            #expect(daemon.docker("inspect", "-f", "{{json .Config.Healthcheck}}", name).stdout
                    == #"{"Test":["CMD-SHELL","test -e /tmp/ready"],"Interval":3600000000000,"StartPeriod":300000000000,"StartInterval":100000000,"Retries":2}"# + "\n",
                    "\(tool)")
        }
        #expect(daemon.docker("run", "-d", "--name", "unchecked", "--no-healthcheck", "busybox", "sleep", "600").status == 0)
        #expect(daemon.docker("inspect", "-f", "{{json .Config.Healthcheck.Test}} {{.State.Health}}", "unchecked").stdout == "[\"NONE\"] <nil>\n")
        #expect(daemon.berth("run", "--rm", "--no-healthcheck", "--health-cmd", "true", "busybox", "true").status == 125)
        #expect(daemon.docker("rm", "-f", "checked", "berth-checked", "unchecked").status == 0)
    }
}
