import ArgumentParser
import BerthClient
import Foundation

struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Attach local standard input, output, and error streams to a running container")
    @Option(help: "Override the key sequence for detaching a container") var detachKeys: String?
    @Flag(help: "Do not attach STDIN") var noStdin = false
    @Flag(inversion: .prefixedNo, help: "Proxy all received signals to the process") var sigProxy = true
    @Argument var container: String

    func run() throws {
        let info = try session.client.inspectContainer(container)
        guard info.state?.running == true else {
            throw CLIError.message("You cannot attach to a stopped container, start it first", code: 1)
        }
        if info.state?.paused == true {
            throw CLIError.message("You cannot attach to a paused container, unpause it first", code: 1)
        }
        let stdin = !noStdin && (info.config?.openStdin ?? false)
        // "not-running", as the docker CLI: the container may exit before the wait request lands.
        let code = try AttachedRun(id: info.id ?? container, tty: info.config?.tty ?? false,
                                   stdin: stdin, detachKeys: detachKeys, waitCondition: "not-running").run(start: false)
        if code != 0 { throw CLIError.exitCode(code) }
    }
}
