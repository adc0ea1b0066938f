import BerthOCI
import BerthSystem
import CBerthSystem
import Glibc

/// Runs OCI hooks: the state JSON on stdin, `timeout` seconds to finish, non-zero exit is failure.
enum HookRunner {
    enum Phase: String {
        case prestart, createRuntime, createContainer, startContainer, poststart, poststop
    }

    static func hooks(_ hooks: RuntimeSpec.Hooks?, _ phase: Phase) -> [RuntimeSpec.Hook] {
        guard let h = hooks else { return [] }
        switch phase {
        case .prestart: return h.prestart ?? []
        case .createRuntime: return h.createRuntime ?? []
        case .createContainer: return h.createContainer ?? []
        case .startContainer: return h.startContainer ?? []
        case .poststart: return h.poststart ?? []
        case .poststop: return h.poststop ?? []
        }
    }

    /// Runs every hook of `phase` in order; the first failure stops the rest.
    static func run(_ hooks: RuntimeSpec.Hooks?, _ phase: Phase, state: RuntimeState) throws {
        guard !Self.hooks(hooks, phase).isEmpty else { return }
        try run(hooks, phase, stateJSON: Array(try JSONCoding.encoder.encode(state)))
    }

    /// As above, with the state already encoded (the container side receives it as JSON).
    static func run(_ hooks: RuntimeSpec.Hooks?, _ phase: Phase, stateJSON input: [UInt8]) throws {
        for (index, hook) in Self.hooks(hooks, phase).enumerated() {
            do { try run(hook, input: input) } catch {
                throw failure(phase, index, hook, error)
            }
        }
    }

    /// Runs every hook of a phase whose failures the spec makes warnings (`poststart`,
    /// `poststop`): a failing hook is logged and the ones after it still run.
    static func runWarningOnFailure(_ hooks: RuntimeSpec.Hooks?, _ phase: Phase, state: RuntimeState) {
        let list = Self.hooks(hooks, phase)
        guard !list.isEmpty else { return }
        guard let input = try? JSONCoding.encoder.encode(state) else { return }
        for (index, hook) in list.enumerated() {
            do { try run(hook, input: Array(input)) } catch {
                RuntimeLog.shared.warning("\(failure(phase, index, hook, error))")
            }
        }
    }

    private static func failure(_ phase: Phase, _ index: Int, _ hook: RuntimeSpec.Hook, _ error: any Error) -> RuntimeError {
        RuntimeError.hook("\(phase.rawValue) hook #\(index) (\(hook.path)) failed: \(error)")
    }

    static func run(_ hook: RuntimeSpec.Hook, input: [UInt8]) throws {
        let stdinPipe = try FileDescriptors.pipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe.read, 0)
        let args = (hook.args?.isEmpty == false ? hook.args! : [hook.path]).map { strdup($0) } + [nil]
        let env = (hook.env ?? []).map { strdup($0) } + [nil]
        defer {
            args.forEach { free($0) }
            env.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, hook.path, &actions, nil, args, env)
        close(stdinPipe.read)
        guard rc == 0 else {
            close(stdinPipe.write)
            throw SystemError("start \(hook.path)", errno: .init(rawValue: rc))
        }
        // A hook may exit without reading stdin: ignore EPIPE.
        signal(SIGPIPE, SIG_IGN)
        try? FileDescriptors.writeAll(stdinPipe.write, input)
        close(stdinPipe.write)
        if let timeout = hook.timeout, timeout > 0 {
            let pidfd = berth_pidfd_open(pid)
            if pidfd >= 0 {
                defer { close(pidfd) }
                var fds = [pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
                let ready = poll(&fds, 1, Int32(timeout) * 1000)
                if ready == 0 {
                    kill(pid, SIGKILL)
                    _ = try? Processes.wait(pid)
                    throw RuntimeError.setup("timed out after \(timeout)s")
                }
            }
        }
        let status = try Processes.wait(pid)
        if status != .exited(0) {
            throw RuntimeError.setup(status == .exited(status.shellCode) ? "exit status \(status.shellCode)" : "killed by signal \(status.shellCode - 128)")
        }
    }
}
