/// The shim's command line, written by berthd. Parsed by hand: the shim is Embedded Swift, a
/// small static binary without argument-parsing or Foundation code.
struct ShimOptions {
    var id = ""
    var bundle = ""
    /// Directory the shim owns: `shim.sock`, `pid`, `exit`, `runtime.log`, `console.sock`.
    var directory = ""
    var runtime = "berth-runtime"
    var runtimeRoot: String?
    /// json-file log; `nil` for the `none` log driver.
    var logPath: String?
    var logMaxSize: Int64 = 0
    var logMaxFiles = 1
    /// Rotated files are gzipped (`FILE.1.gz` …), as dockerd's `compress`.
    var logCompress = false
    /// A JSON object written into every line as `attrs` (labels, env, tag).
    var logAttributes: String?
    var tty = false
    var openStdin = false
    var stdinOnce = false
    /// Exec mode: the process.json to run inside the running container `id`.
    var execProcess: String?
    /// The memory cgroup's OOM counter file (`memory.events`, or v1's `memory.oom_control`),
    /// read at exit before the runtime deletes the cgroup.
    var oomFile: String?

    static let usage = """
        usage: berth-shim --id ID --bundle DIR --dir DIR [--runtime PATH] [--runtime-root DIR]
                          [--log FILE [--log-max-size BYTES] [--log-max-file N] [--log-compress] [--log-attrs JSON]]
                          [--tty] [--stdin] [--stdin-once] [--exec-process FILE] [--oom-file FILE]
        """

    init(arguments: [String]) throws(ShimError) {
        var iterator = arguments.makeIterator()
        func value(_ flag: String) throws(ShimError) -> String {
            guard let next = iterator.next() else { throw ShimError("\(flag) needs a value") }
            return next
        }
        while let argument = iterator.next() {
            switch argument {
            case "--id": id = try value(argument)
            case "--bundle": bundle = try value(argument)
            case "--dir": directory = try value(argument)
            case "--runtime": runtime = try value(argument)
            case "--runtime-root": runtimeRoot = try value(argument)
            case "--log": logPath = try value(argument)
            case "--log-max-size":
                guard let size = Int64(try value(argument)) else { throw ShimError("--log-max-size takes a byte count") }
                logMaxSize = size
            case "--log-max-file":
                guard let count = Int(try value(argument)), count >= 1 else { throw ShimError("--log-max-file takes a number ≥ 1") }
                logMaxFiles = count
            case "--log-compress": logCompress = true
            case "--log-attrs": logAttributes = try value(argument)
            case "--tty": tty = true
            case "--stdin": openStdin = true
            case "--stdin-once": stdinOnce = true
            case "--exec-process": execProcess = try value(argument)
            case "--oom-file": oomFile = try value(argument)
            default: throw ShimError("unknown argument \(argument)")
            }
        }
        if id.isEmpty || bundle.isEmpty || directory.isEmpty { throw ShimError("--id, --bundle and --dir are required") }
    }
}
