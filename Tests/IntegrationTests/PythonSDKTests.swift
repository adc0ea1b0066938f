import BerthTestSupport
import Foundation
import Testing

/// The Python docker SDK (7.1) against a real berthd.
@Suite("Python docker SDK against berthd")
struct PythonSDKTests {
    @Test func containersImagesAndExec() throws {
        let daemon = try DaemonHarness("sdk")
        defer { daemon.shutdown() }
        let result = daemon.python("""
            import time
            assert client.ping()
            assert client.version()['ApiVersion'] == '1.50'
            out = client.containers.run('busybox', ['sh', '-c', 'echo sdk-out; echo sdk-err >&2'], network_mode='none', remove=True, stderr=True)
            # stdout and stderr are separate pipes: their relative order is not defined (as with Docker).
            assert sorted(out.splitlines()) == [b'sdk-err', b'sdk-out'], out
            try:
                client.containers.run('busybox', ['sh', '-c', 'exit 9'], network_mode='none', remove=True)
                raise SystemExit('no ContainerError')
            except docker.errors.ContainerError as error:
                assert error.exit_status == 9
            c = client.containers.run('busybox', ['sleep', '30'], network_mode='none', detach=True, name='sdkbox', labels={'k': 'v'})
            c.reload()
            assert c.status == 'running' and c.labels == {'k': 'v'}, (c.status, c.labels)
            assert [x.name for x in client.containers.list(filters={'label': 'k=v'})] == ['sdkbox']
            code, output = c.exec_run(['sh', '-c', 'echo via-exec; exit 2'])
            assert (code, output) == (2, b'via-exec\\n'), (code, output)
            w = client.containers.run('busybox', ['sh', '-c', 'echo earlier; sleep 30'], network_mode='none', detach=True)
            for _ in range(600):
                if w.logs(): break
                time.sleep(0.05)
            assert w.logs() == b'earlier\\n', w.logs()
            # attach with logs=1: past output first; without stream it ends there.
            replayed = w.attach(stdout=True, stderr=True, logs=True, stream=False)
            assert replayed == b'earlier\\n', replayed
            w.remove(force=True)
            c.stop(timeout=1)
            assert c.wait()['StatusCode'] == 137, c.wait()  # PID 1 ignores SIGTERM: stop escalates
            c.start(); c.kill(signal='SIGKILL')
            assert c.wait()['StatusCode'] == 137
            c.remove()
            try:
                client.containers.get('sdkbox'); raise SystemExit('still there')
            except docker.errors.NotFound:
                pass
            assert client.images.get('busybox').tags == ['busybox:latest']
            try:
                client.images.get('missing:tag'); raise SystemExit('found a missing image')
            except docker.errors.ImageNotFound:
                pass
            print('ok')
            """)
        #expect(result.stdout == "ok\n", "\(result.stderr)")
    }

    @Test func eventsArriveWhileTheyHappen() throws {
        let daemon = try DaemonHarness("events")
        defer { daemon.shutdown() }
        let result = daemon.python("""
            import threading
            seen = []
            events = client.events(decode=True, filters={'type': 'container'})
            def watch():
                for event in events:
                    seen.append((event['Action'], event['Actor']['Attributes'].get('name')))
                    if event['Action'] == 'destroy':
                        return
            watcher = threading.Thread(target=watch); watcher.start()
            client.containers.run('busybox', ['true'], network_mode='none', name='evbox', remove=True)
            watcher.join(20)
            events.close()
            print(' '.join(action for action, name in seen if name == 'evbox'))
            """)
        #expect(result.stdout == "create start die destroy\n", "\(result.stderr)")
    }
}
