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
        let info = try session.client.request("GET", "/containers/\(container)/json").json
        guard info["State"]?["Running"]?.bool == true else {
            throw CLIError.message("You cannot attach to a stopped container, start it first", code: 1)
        }
        if info["State"]?["Paused"]?.bool == true {
            throw CLIError.message("You cannot attach to a paused container, unpause it first", code: 1)
        }
        let stdin = !noStdin && (info["Config"]?["OpenStdin"]?.bool ?? false)
        // "not-running", as the docker CLI: the container may exit before the wait request lands.
        let code = try AttachedRun(id: info["Id"]?.string ?? container, tty: info["Config"]?["Tty"]?.bool ?? false,
                                   stdin: stdin, detachKeys: detachKeys, waitCondition: "not-running").run(start: false)
        if code != 0 { throw CLIError.exitCode(code) }
    }
}
