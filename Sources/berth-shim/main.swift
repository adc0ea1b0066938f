import CBerthSystem
import CShimLibc

// berth-shim: started by berthd for each container start and each exec. The first process
// reports readiness ("OK PID" or "ERR message") on stdout and exits; the shim itself runs on
// in a new session so that it outlives berthd.

func say(_ fd: Int32, _ text: String) {
    SystemCalls.writeAll(fd, Array((text + "\n").utf8))
}

func main() -> Never {
    let options: ShimOptions
    do throws(ShimError) {
        options = try ShimOptions(arguments: Array(SystemCalls.commandLine().dropFirst()))
    } catch {
        say(2, "berth-shim: \(error.message)\n\(ShimOptions.usage)")
        exit(2)
    }
    let ready: (read: Int32, write: Int32)
    do throws(ShimError) {
        try SystemCalls.makeDirectories(options.directory, mode: 0o700)
        ready = try SystemCalls.pipe()
    } catch {
        say(1, "ERR \(error.message)")
        exit(1)
    }
    let child = berth_fork()
    if child > 0 {
        close(ready.write)
        var answer = SystemCalls.readAll(ready.read)
        if answer.last == UInt8(ascii: "\n") { answer.removeLast() }
        say(1, answer.isEmpty ? "ERR the shim exited during start-up" : String(decoding: answer, as: UTF8.self))
        exit(answer.starts(with: Array("OK".utf8)) ? 0 : 1)
    }
    close(ready.read)
    setsid()
    chdir(options.directory)
    let null = shim_open("/dev/null", O_RDWR, 0)
    for fd: Int32 in 0...2 { dup2(null, fd) }
    if null > 2 { close(null) }

    let shim = Shim(options: options)
    do throws(ShimError) {
        let pid = try shim.prepare()
        say(ready.write, "OK \(pid)")
        close(ready.write)
    } catch {
        say(ready.write, "ERR \(error.message)")
        _exit(1)
    }
    shim.serve()
}

main()
