import BerthTestSupport
import Foundation
import Testing

/// Commit, update, `--init`, OOM reporting and health checks, through the docker CLI and the Python SDK.
@Suite("commit, update, init, OOM and health checks through berthd")
struct ContainerChangeTests {
    @Test func commitMakesAnImageOfTheContainersChanges() throws {
        let daemon = try DaemonHarness("commit")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "cm1", "--network", "none", "busybox",
                              "sh", "-c", "echo committed > /note; rm /bin/vi; sleep 600").status == 0)
        #expect(Command.eventually { daemon.docker("exec", "cm1", "cat", "/note").stdout == "committed\n" })
        let commit = daemon.docker("commit", "-c", "CMD [\"cat\", \"/note\"]", "-c", "ENV STAGE=two", "-c", "LABEL made=by-commit",
                                   "-m", "first commit", "-a", "Berth Tests", "cm1", "cmimage:v1")
        #expect(commit.status == 0, "\(commit.stderr)")
        #expect(commit.stdout.hasPrefix("sha256:"))
        // Paused for the diff, running again after it.
        #expect(daemon.docker("inspect", "-f", "{{.State.Status}}", "cm1").stdout == "running\n")
        #expect(daemon.docker("run", "--rm", "--network", "none", "cmimage:v1").stdout == "committed\n")
        #expect(daemon.docker("run", "--rm", "--network", "none", "cmimage:v1", "sh", "-c", "echo $STAGE; test -e /bin/vi || echo no-vi").stdout == "two\nno-vi\n")
        let inspect = daemon.docker("image", "inspect", "-f", "{{.Author}}|{{.Comment}}|{{.Config.Labels.made}}|{{len .RootFS.Layers}}", "cmimage:v1")
        #expect(inspect.stdout == "Berth Tests|first commit|by-commit|2\n")
        let history = daemon.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", "cmimage:v1").stdout
        #expect(history.hasPrefix("sh -c echo committed > /note; rm /bin/vi; sleep 600|first commit\n"))

        let bad = daemon.docker("commit", "-c", "RUN echo no", "cm1", "cmimage:bad")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("RUN is not a valid change command"))
        #expect(daemon.docker("image", "inspect", "cmimage:bad").status != 0)

        // The SDK's commit, of a stopped container, untagged.
        let sdk = daemon.python("""
            c = client.containers.get('cm1')
            c.stop(timeout=0)
            image = c.commit(changes=['WORKDIR /tmp'])
            print(image.attrs['Config']['WorkingDir'], len(image.attrs['RootFS']['Layers']))
            """)
        #expect(sdk.stdout == "/tmp 2\n", "\(sdk.stderr)")
    }

    @Test func updateChangesLimitsOfARunningContainer() throws {
        let daemon = try DaemonHarness("update")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "up1", "--network", "none", "--memory", "64m", "busybox", "sleep", "600").status == 0)
        let update = daemon.docker("update", "--memory", "96m", "--memory-swap", "192m", "--cpus", "0.5", "--pids-limit", "50",
                                   "--restart", "on-failure:2", "up1")
        #expect(update.status == 0, "\(update.stderr)")
        #expect(daemon.docker("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}", "up1").stdout
            == "100663296 500000000 50 on-failure\n")
        // What the kernel enforces now, read from inside (cgroup namespace: the container's own cgroup is the root).
        let limits = daemon.docker("exec", "up1", "sh", "-c",
                                   "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
        #expect(limits.stdout == "100663296\n")
        let tooSmall = daemon.docker("update", "--memory", "1m", "up1")
        #expect(tooSmall.status != 0)
        #expect(tooSmall.stderr.contains("Minimum memory limit allowed is 6MB"))
        // --cpus is a quota already: a quota of its own conflicts (the kernel would refuse a
        // quota below 1 ms, or below -1, at the runtime's update; both refused before).
        let quota = daemon.docker("update", "--cpu-quota", "50000", "up1")
        #expect(quota.status != 0 && quota.stderr.contains("CPU Quota cannot be updated as NanoCPUs has already been set"), "\(quota.stderr)")
        #expect(daemon.docker("update", "--cpu-quota", "-5", "up1").stderr.contains("invalid CPU cfs quota -5"))
        #expect(daemon.docker("update", "--cpu-quota", "500", "up1").stderr.contains("CPU cfs quota can not be less than 1ms"))
        let sdk = daemon.python("""
            c = client.containers.get('up1')
            c.update(mem_limit='128m', memswap_limit='256m')
            c.reload()
            print(c.attrs['HostConfig']['Memory'])
            """)
        #expect(sdk.stdout == "134217728\n", "\(sdk.stderr)")
        #expect(daemon.docker("update", "--memory", "64m", "nosuchcontainer").stderr.contains("No such container"))
    }

    @Test func initRunsAsPidOneAndReapsAndForwardsSignals() throws {
        let daemon = try DaemonHarness("init")
        defer { daemon.shutdown() }
        let ps = daemon.docker("run", "--rm", "--init", "--network", "none", "busybox", "ps", "-o", "pid,args")
        #expect(ps.stdout.contains("    1 /sbin/docker-init -- ps -o pid,args"), "\(ps.stdout)\(ps.stderr)")
        #expect(daemon.docker("run", "--rm", "--init", "--network", "none", "busybox", "sh", "-c", "exit 5").status == 5)
        // sh as PID 2 would ignore SIGTERM as PID 1 does: under init, stop is quick and the code is 143.
        #expect(daemon.docker("run", "-d", "--init", "--name", "in1", "--network", "none", "busybox", "sleep", "600").status == 0)
        #expect(daemon.docker("stop", "-t", "30", "in1").status == 0)
        #expect(daemon.docker("inspect", "-f", "{{.State.ExitCode}} {{.HostConfig.Init}}", "in1").stdout == "143 true\n")
        // Orphans are reaped: no zombie is left after the shell that forked them exits.
        #expect(daemon.docker("run", "-d", "--init", "--name", "in2", "--network", "none", "busybox",
                              "sh", "-c", "(sleep 0.2 &) ; sleep 600").status == 0)
        #expect(Command.eventually {
            let lines = daemon.docker("exec", "in2", "ps", "-o", "stat,args").stdout.split(separator: "\n")
            return !lines.contains { $0.hasPrefix("Z") || $0.hasSuffix(" sleep 0.2") } && lines.contains { $0.hasSuffix(" sleep 600") }
        })
    }

    @Test func outOfMemoryKillIsReported() throws {
        let daemon = try DaemonHarness("oom")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "oom1", "--network", "none", "--memory", "16m", "--memory-swap", "16m", "busybox",
                              "sh", "-c", "if [ ! -e /ran ]; then touch /ran; x=$(head -c 100000000 /dev/zero | tr '\\0' a); fi; sleep 600").status == 0)
        #expect(daemon.docker("wait", "oom1").stdout == "137\n")
        #expect(daemon.docker("inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "oom1").stdout == "true 137\n")
        let events = daemon.docker("events", "--since", "5m", "--until", String(Date().timeIntervalSince1970), "--filter", "event=oom", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
        #expect(events.stdout == "oom oom1\n")
        // Started again, it no longer allocates (its /ran exists): OOMKilled is cleared.
        #expect(daemon.docker("start", "oom1").status == 0)
        #expect(daemon.docker("inspect", "-f", "{{.State.OOMKilled}} {{.State.Running}}", "oom1").stdout == "false true\n", "a new start clears OOMKilled")
    }

    @Test func healthCheckReportsStatusLogAndEvents() throws {
        let daemon = try DaemonHarness("health")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "hc1", "--network", "none", "--health-cmd", "test -e /tmp/ready",
                              "--health-interval", "100ms", "--health-retries", "2", "busybox", "sleep", "600").status == 0)
        #expect(daemon.docker("ps", "--format", "{{.Status}}", "--filter", "name=hc1").stdout.hasSuffix("(health: starting)\n"))
        #expect(Command.eventually { daemon.docker("inspect", "-f", "{{.State.Health.Status}}", "hc1").stdout == "unhealthy\n" })
        #expect(daemon.docker("ps", "-q", "--filter", "health=unhealthy").stdout == daemon.docker("ps", "-q", "--filter", "name=hc1").stdout)
        #expect(daemon.docker("exec", "hc1", "touch", "/tmp/ready").status == 0)
        #expect(Command.eventually { daemon.docker("ps", "--format", "{{.Status}}", "--filter", "name=hc1").stdout.hasSuffix("(healthy)\n") })
        let health = daemon.docker("inspect", "-f", "{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}}", "hc1").stdout
        #expect(health.hasPrefix("0 "))
        let events = daemon.docker("events", "--since", "5m", "--until", String(Date().timeIntervalSince1970),
                                   "--filter", "container=hc1", "--filter", "event=health_status", "--format", "{{.Action}}").stdout
        #expect(events.hasPrefix("health_status: unhealthy\nhealth_status: healthy\n"), "\(events)")

        // A probe that outlives its timeout fails with Docker's message; the SDK sets the check.
        let sdk = daemon.python("""
            import time
            c = client.containers.run('busybox', 'sleep 600', name='hc2', network_mode='none', detach=True,
                                      healthcheck={'test': ['CMD', 'sleep', '10'], 'interval': 100000000, 'timeout': 200000000, 'retries': 1})
            for _ in range(100):
                c.reload()
                if c.attrs['State']['Health']['Status'] == 'unhealthy': break
                time.sleep(0.1)
            print(c.attrs['State']['Health']['Status'], c.attrs['State']['Health']['Log'][0]['Output'])
            """)
        #expect(sdk.stdout == "unhealthy Health check exceeded timeout (200ms)\n", "\(sdk.stderr)")
        #expect(daemon.docker("run", "--rm", "--network", "none", "--no-healthcheck", "busybox", "true").status == 0)
    }
}
