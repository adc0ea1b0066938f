import CBerthSystem
import Glibc

// berth-init: the container's PID 1 for `docker run --init` (Docker's docker-init, tini).
// It runs the command as its child, forwards every signal it receives to it, reaps the zombies
// that orphaned descendants leave behind, and exits with the command's status (128+N when a
// signal N ended it). Built as a fully static executable: it is bind-mounted into images that
// may have no C library at all.

func report(_ message: String) {
    let line = Array("berth-init: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String, code: Int32) -> Never {
    report(message)
    exit(code)
}

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--" { arguments.removeFirst() }
guard let command = arguments.first else { fail("usage: berth-init [--] COMMAND [ARG...]", code: 2) }

// Outside a PID namespace (or not as PID 1) orphans still come back to us to be reaped.
_ = berth_set_child_subreaper(1)

var every = sigset_t()
sigfillset(&every)
var original = sigset_t()
sigprocmask(SIG_SETMASK, &every, &original)

let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
let child = fork()
if child < 0 { fail("fork: \(String(cString: strerror(errno)))", code: 1) }
if child == 0 {
    sigprocmask(SIG_SETMASK, &original, nil)
    execvp(command, argv)
    let reason = errno
    report("exec \(command) failed: \(String(cString: strerror(reason)))")
    _exit(reason == ENOENT ? 127 : 126)
}

/// The shell's view of a wait status: the exit code, or 128 plus the signal.
func shellCode(_ status: Int32) -> Int32 {
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}

while true {
    var info = siginfo_t()
    var tick = timespec(tv_sec: 1, tv_nsec: 0)
    let signal = sigtimedwait(&every, &info, &tick)
    // Every signal is the command's, but SIGCHLD, which tells us to reap.
    if signal > 0, signal != SIGCHLD { kill(child, signal) }
    while true {
        var status: Int32 = 0
        let reaped = waitpid(-1, &status, WNOHANG)
        if reaped <= 0 { break }
        if reaped == child { exit(shellCode(status)) }
    }
}
