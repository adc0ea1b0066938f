import BerthSystem
import CBerthSystem
import Glibc

// berth-shim: started by berthd for each container start and each exec. The first process
// reports readiness ("OK PID" or "ERR message") on stdout and exits; the shim itself runs on
// in a new session so that it outlives berthd.

let options: ShimOptions
do {
    options = try ShimOptions(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    try? FileDescriptors.writeAll(2, Array("berth-shim: \(error.message)\n\(ShimOptions.usage)\n".utf8))
    exit(2)
}

func say(_ fd: Int32, _ text: String) {
    try? FileDescriptors.writeAll(fd, Array((text + "\n").utf8))
}

do {
    try SmallFile.makeDirectories(options.directory, mode: 0o700)
} catch {
    say(1, "ERR \(error)")
    exit(1)
}
guard let ready = try? FileDescriptors.pipe() else {
    say(1, "ERR pipe: \(String(cString: strerror(errno)))")
    exit(1)
}
let child = berth_fork()
if child > 0 {
    close(ready.write)
    let answer = (try? FileDescriptors.readAll(ready.read)) ?? []
    let text = String(decoding: answer, as: UTF8.self)
    say(1, text.isEmpty ? "ERR the shim exited during start-up" : String(text.dropLast(text.hasSuffix("\n") ? 1 : 0)))
    exit(text.hasPrefix("OK") ? 0 : 1)
}
close(ready.read)
setsid()
chdir(options.directory)
let null = open("/dev/null", O_RDWR)
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
