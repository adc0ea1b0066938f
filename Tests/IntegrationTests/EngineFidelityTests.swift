import BerthTestSupport
import Foundation
import Glibc
import Testing

/// Endpoints as dockerd answers them, for what real clients rely on (issue 15), through the
/// Python docker SDK.
@Suite("Engine API fidelity")
struct EngineFidelityTests {
    @Test("image prune honours label, label! and until, and lists Untagged as well as Deleted; container prune reports the space its layers held")
    func pruneFilters() throws {
        let daemon = try DaemonHarness("prunef")
        defer { daemon.shutdown() }
        let result = daemon.python("""
            base = client.containers.create('busybox', ['true'], network_mode='none', name='keeps-busybox-used')
            def image(name, label):
                c = client.containers.run('busybox', ['sh', '-c', 'echo %s > /f' % name], network_mode='none', detach=True)
                c.wait()
                img = c.commit(repository=name, tag='1', conf={'Labels': {'k': label}})
                c.remove()
                return img.id
            keep, drop = image('keep', 'keep'), image('drop', 'drop')
            def names(): return sorted(t for i in client.images.list() for t in i.tags)
            # A label no image has selects nothing, dangling or not (it deleted every unused image).
            r = client.images.prune(filters={'dangling': False, 'label': ['no.such.label']})
            assert not r['ImagesDeleted'] and r['SpaceReclaimed'] == 0, r
            assert names() == ['busybox:latest', 'drop:1', 'keep:1'], names()
            # Images younger than an hour are not "until 1h".
            r = client.images.prune(filters={'dangling': False, 'until': '1h'})
            assert not r['ImagesDeleted'], r
            r = client.images.prune(filters={'dangling': False, 'label': ['k=drop']})
            assert r['ImagesDeleted'] == [{'Untagged': 'drop:1'}, {'Deleted': drop}], r
            assert r['SpaceReclaimed'] > 0, r
            # label!: everything unused but what carries k=keep (busybox is used by a container).
            r = client.images.prune(filters={'dangling': False, 'label!': ['k=keep']})
            assert not r['ImagesDeleted'], r
            assert names() == ['busybox:latest', 'keep:1'], names()
            for bad in ({'colour': ['red']}, {'dangling': ['maybe']}, {'until': ['yesterday']}):
                try:
                    client.images.prune(filters=bad); raise SystemExit('accepted %s' % bad)
                except docker.errors.APIError as e:
                    assert e.status_code == 400, (bad, e)
            # Containers: SpaceReclaimed is what their writable layers held.
            for n in range(2):
                c = client.containers.run('busybox', ['dd', 'if=/dev/zero', 'of=/blob', 'bs=1024', 'count=512'],
                                          network_mode='none', detach=True, labels={'prune': 'yes'})
                c.wait()
            other = client.containers.run('busybox', ['true'], network_mode='none', detach=True, labels={'prune': 'no'})
            other.wait()
            r = client.containers.prune(filters={'label': ['prune=yes']})
            assert len(r['ContainersDeleted']) == 2 and r['SpaceReclaimed'] >= 2 * 512 * 1024, r
            other.reload()
            r = client.containers.prune(filters={'label!': ['prune=no'], 'until': '1h'})
            assert not r['ContainersDeleted'], r
            other.remove(); base.remove()
            print('ok')
            """)
        #expect(result.stdout == "ok\n", "\(result.stderr)")
    }

    @Test("exec start frames by its own Tty; an exec whose program is missing ends its stream with the reason, exits 127 and leaves no shim")
    func execStartAndFailedExec() throws {
        let daemon = try DaemonHarness("execf")
        defer { daemon.shutdown() }
        let result = daemon.python("""
            import os, time
            c = client.containers.run('busybox', ['sleep', '60'], network_mode='none', detach=True)
            api = client.api
            tty_exec = api.exec_create(c.id, ['echo', 'hello'], tty=True)['Id']
            out = api.exec_start(tty_exec, tty=False)
            assert out == b'hello\\r\\n', out
            plain_exec = api.exec_create(c.id, ['echo', 'hello'], tty=False)['Id']
            out = api.exec_start(plain_exec, tty=True)
            assert out == b'hello\\n', out
            missing = api.exec_create(c.id, ['/no/such/binary'])['Id']
            out = api.exec_start(missing)
            assert b'no such file or directory' in out, out
            assert api.exec_inspect(missing)['ExitCode'] == 127, api.exec_inspect(missing)
            detached = api.exec_create(c.id, ['no-such-program'])['Id']
            assert not api.exec_start(detached, detach=True)
            for _ in range(200):
                if api.exec_inspect(detached)['ExitCode'] is not None: break
                time.sleep(0.05)
            assert api.exec_inspect(detached)['ExitCode'] == 127, api.exec_inspect(detached)
            def shims(exec_id):
                found = []
                for pid in filter(str.isdigit, os.listdir('/proc')):
                    try:
                        if exec_id.encode() in open('/proc/%s/cmdline' % pid, 'rb').read(): found.append(pid)
                    except OSError:
                        pass
                return found
            for exec_id in (missing, detached):
                for _ in range(100):
                    if not shims(exec_id): break
                    time.sleep(0.05)
                assert not shims(exec_id), exec_id
            c.remove(force=True)
            print('ok')
            """)
        #expect(result.stdout == "ok\n", "\(result.stderr)")
    }

    @Test("binds and --mount: propagation applied and reported, bind and tmpfs mounts work, Config.Volumes as anonymous volumes; log driver and swarm answers as dockerd's")
    func mountsAndAnswers() throws {
        let daemon = try DaemonHarness("mountf")
        defer { daemon.shutdown() }
        let shared = daemon.dir + "/shared", plain = daemon.dir + "/plain"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        try #require(mount("tmpfs", shared, "tmpfs", 0, "size=1m") == 0)
        defer {
            umount2(shared, Int32(MNT_DETACH))
            try? FileManager.default.removeItem(atPath: shared)
            try? FileManager.default.removeItem(atPath: plain)
        }
        try #require(mount(nil, shared, nil, UInt(MS_SHARED), nil) == 0)
        let result = daemon.python("""
            from docker.types import Mount
            shared, plain = '\(shared)', '\(plain)'
            script = "grep ' /mnt ' /proc/self/mountinfo; echo data > /scratch/f; cat /scratch/f; echo kept > /host/f"
            c = client.containers.run('busybox', ['sh', '-c', script], network_mode='none', detach=True,
                                      volumes={shared: {'bind': '/mnt', 'mode': 'rw,rshared'}},
                                      mounts=[Mount('/host', plain, type='bind', propagation='rprivate'),
                                              Mount('/scratch', None, type='tmpfs', tmpfs_size=65536)])
            assert c.wait()['StatusCode'] == 0, c.logs()
            out = c.logs().decode()
            assert 'shared:' in out.splitlines()[0], out
            assert out.splitlines()[1] == 'data', out
            assert open(plain + '/f').read() == 'kept\\n'
            mounts = {m['Destination']: m for m in c.attrs['Mounts']}
            assert mounts['/mnt']['Propagation'] == 'rshared' and mounts['/mnt']['Mode'] == 'rw,rshared', mounts
            assert mounts['/host']['Type'] == 'bind' and mounts['/host']['Propagation'] == 'rprivate', mounts
            assert mounts['/scratch']['Type'] == 'tmpfs', mounts
            c.remove()
            def refused(**kwargs):
                try:
                    client.containers.create('busybox', ['true'], network_mode='none', **kwargs)
                except docker.errors.APIError as e:
                    return e.status_code, e.explanation
                raise SystemExit('accepted %s' % kwargs)
            # Config.Volumes alone (the low-level API) is an anonymous volume there.
            created = client.api.create_container('busybox', ['true'], volumes=['/data'])
            volume = [m for m in client.api.inspect_container(created['Id'])['Mounts'] if m['Destination'] == '/data'][0]
            assert volume['Type'] == 'volume' and len(volume['Name']) == 64, volume
            client.api.remove_container(created['Id'], v=True)
            assert volume['Name'] not in [v.name for v in client.volumes.list()]
            code, text = refused(mounts=[Mount('/x', '/no/such/source', type='bind')])
            assert code == 400 and 'bind source path does not exist: /no/such/source' in text, text
            code, text = refused(volumes={plain: {'bind': '/x', 'mode': 'rw'}}, mounts=[Mount('/x', plain, type='bind')])
            assert code == 400 and 'Duplicate mount point: /x' in text, text
            code, text = refused(log_config={'Type': 'asdf'})
            assert code == 400 and "logger: no log driver named 'asdf' is registered" in text, text
            # A shared bind needs a shared source: the container would otherwise see a private mount.
            c = client.containers.create('busybox', ['true'], network_mode='none', volumes={plain: {'bind': '/y', 'mode': 'rshared'}})
            try:
                c.start(); raise SystemExit('started')
            except docker.errors.APIError as e:
                assert 'is not a shared mount' in e.explanation, e.explanation
            c.remove()
            assert client.swarm.leave(force=True)
            try:
                client.api.inspect_swarm(); raise SystemExit('in a swarm')
            except docker.errors.APIError as e:
                assert e.status_code == 503 and 'not a swarm manager' in e.explanation, e
            print('ok')
            """)
        #expect(result.stdout == "ok\n", "\(result.stderr)")
    }

    @Test("kill answers once SIGKILL took effect; a restarting container is restarting, not exited, and not removable without force; commit of an exiting container does not fail on its pause")
    func lifecycleAnswers() throws {
        let daemon = try DaemonHarness("lifef")
        defer { daemon.shutdown() }
        let runtime = TestEnvironment.binaries + "/berth-runtime"
        let runtimeRoot = daemon.dir + "/run/runtime/berth-runtime"
        let result = daemon.python("""
            import subprocess, time
            for _ in range(8):
                c = client.containers.run('busybox', ['sleep', '60'], network_mode='none', detach=True)
                c.kill()
                c.reload()
                assert c.status == 'exited' and not c.attrs['State']['Running'], c.attrs['State']
                c.remove()
            r = client.containers.run('busybox', ['sh', '-c', 'sleep 0.3; exit 3'], network_mode='none', detach=True,
                                      restart_policy={'Name': 'always'})
            seen, refused = set(), False
            deadline = time.time() + 20
            while time.time() < deadline and not refused:
                r.reload()
                state = r.attrs['State']
                seen.add(state['Status'])
                assert state['Status'] != 'exited', state
                if state['Status'] == 'restarting':
                    assert state['Restarting'] and state['Running'], state
                    try:
                        r.remove()
                        raise SystemExit('removed while restarting')
                    except docker.errors.APIError as e:
                        assert e.status_code == 409 and 'restarting' in e.explanation, e
                        refused = True
                time.sleep(0.01)
            assert refused, seen
            assert r.id in [x.id for x in client.containers.list()]
            r.stop(timeout=1)
            time.sleep(1)
            r.reload()
            assert r.status == 'exited', r.status
            r.remove()
            for _ in range(5):
                c = client.containers.run('busybox', ['sleep', '60'], network_mode='none', detach=True)
                subprocess.run(['\(runtime)', '--root', '\(runtimeRoot)', 'delete', '--force', c.id], check=True)
                c.commit(repository='exiting', tag='x', pause=True)
                client.images.remove('exiting:x')
                c.remove(force=True)
            print('ok')
            """)
        #expect(result.stdout == "ok\n", "\(result.stderr)")
    }

    @Test("hijacked streams end as dockerd's: exec detach keys, attach with stdin only, attach before start with logs and stream")
    func streamsEnd() throws {
        let daemon = try DaemonHarness("streamf")
        defer { daemon.shutdown() }
        let result = daemon.python("""
            import select, socket, time
            def read_to_eof(sock, seconds=10):
                sock = getattr(sock, '_sock', sock)
                sock.setblocking(False)
                data, deadline = b'', time.time() + seconds
                while time.time() < deadline:
                    ready, _, _ = select.select([sock], [], [], 0.2)
                    if not ready: continue
                    try:
                        chunk = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    if not chunk: return data, True
                    data += chunk
                return data, False
            api = client.api
            c = client.containers.run('busybox', ['sleep', '60'], network_mode='none', detach=True)
            for keys, typed in (('ctrl-x', b'\\x18'), (None, b'\\x10\\x11')):
                kwargs = {'detach_keys': keys} if keys else {}
                e = api.exec_create(c.id, ['cat'], stdin=True, **kwargs)['Id']
                sock = api.exec_start(e, socket=True)
                raw = getattr(sock, '_sock', sock)
                raw.sendall(b'hello\\n')
                time.sleep(0.2)
                raw.sendall(typed)
                data, ended = read_to_eof(sock)
                assert ended, ('exec stream still open after the detach keys', keys, data)
                assert api.exec_inspect(e)['Running'], api.exec_inspect(e)
            for attempt in range(9):
                sock = api.attach_socket(c.id, params={'stdin': 1, 'stream': 1})
                raw = getattr(sock, '_sock', sock)
                raw.sendall(b'\\x10\\x11')
                data, ended = read_to_eof(sock)
                assert ended, ('stdin-only attach still open after the detach keys', attempt)
            c.reload()
            assert c.status == 'running', c.status
            c.remove(force=True)
            n = client.containers.create('busybox', ['sh', '-c', 'echo one; echo two >&2'], network_mode='none')
            sock = api.attach_socket(n.id, params={'stdout': 1, 'stderr': 1, 'logs': 1, 'stream': 1})
            n.start()
            data, ended = read_to_eof(sock)
            assert ended, ('attach before start never ended', data)
            assert b'one' in data and b'two' in data, data
            # The stream ends with the output; the exit is recorded right after (wait, as docker run does).
            assert n.wait(timeout=10)['StatusCode'] == 0
            n.remove()
            print('ok')
            """)
        #expect(result.stdout == "ok\n", "\(result.stderr)")
    }

    @Test("every HostConfig field is honoured or refused by name: hosts, DNS, annotations, swappiness, Windows-only and port fields")
    func hostConfigAudit() throws {
        let daemon = try DaemonHarness("auditf")
        defer { daemon.shutdown() }
        let runtime = TestEnvironment.binaries + "/berth-runtime"
        let runtimeRoot = daemon.dir + "/run/runtime/berth-runtime"
        let result = daemon.python("""
            import json, subprocess
            c = client.containers.run('busybox', ['sleep', '60'], network_mode='none', detach=True,
                                      extra_hosts={'db': '10.1.2.3'}, dns=['192.0.2.53'], dns_search=['corp.example'],
                                      dns_opt=['ndots:3'], mem_swappiness=7)
            hosts = c.exec_run(['cat', '/etc/hosts']).output.decode()
            assert '10.1.2.3\\tdb' in hosts, hosts
            resolv = c.exec_run(['cat', '/etc/resolv.conf']).output.decode()
            assert 'nameserver 192.0.2.53' in resolv and 'search corp.example' in resolv and 'options ndots:3' in resolv, resolv
            c.remove(force=True)
            api = client.api
            r = api._result(api._post_json(api._url('/containers/create'), data={
                'Image': 'busybox', 'Cmd': ['sleep', '60'],
                'HostConfig': {'NetworkMode': 'none', 'Annotations': {'org.example/k': 'v'}}}), True)
            client.api.start(r['Id'])
            state = json.loads(subprocess.run(['\(runtime)', '--root', '\(runtimeRoot)', 'state', r['Id']],
                                              capture_output=True, check=True).stdout)
            assert state.get('annotations', {}).get('org.example/k') == 'v', state
            client.api.remove_container(r['Id'], force=True)
            def refused(**host):
                try:
                    client.api.create_container('busybox', ['true'], host_config=client.api.create_host_config(network_mode='none', **host))
                except docker.errors.APIError as e:
                    return e.status_code, e.explanation
                raise SystemExit('accepted %s' % host)
            for host, words in (({'cpu_count': 2}, 'HostConfig.CpuCount'), ({'port_bindings': {'80/bogus': 1}}, 'invalid proto: bogus'),
                                ({'isolation': 'hyperv'}, 'invalid isolation: hyperv on linux'),
                                ({'volume_driver': 'local'}, 'HostConfig.VolumeDriver'),
                                ({'extra_hosts': {'gw': ''}}, 'bad format for add-host')):
                code, text = refused(**host)
                assert code == 400 and words in text, (host, text)
            print('ok')
            """)
        #expect(result.stdout == "ok\n", "\(result.stderr)")
    }
}
