import ArgumentParser
import BerthImages
import BerthOCI
import BerthRegistry
import Foundation
import Synchronization

/// Drives the image libraries for `benchmarks/pull.sh` until berthd exposes them.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth-image-bench",
        abstract: "Pull an image into a data root with Berth's image libraries (benchmark driver).")

    @Argument(help: "Image reference, e.g. 127.0.0.1:5000/library/debian:latest")
    var reference: String

    @Option(help: "Data root to pull into.")
    var root: String

    @Option(help: "Parallel layer downloads.")
    var jobs = 3

    @Flag(help: "Print raw progress events (for tests).")
    var verbose = false

    @Flag(help: "Print Docker's JSON progress messages instead of bars or lines.")
    var json = false

    func run() async throws {
        let store = try ImageStore(root: root)
        var configuration = RegistryConfiguration()
        configuration.maxConcurrentDownloads = jobs
        let client = RegistryClient(configuration: configuration)
        let verbose = self.verbose, json = self.json
        // Bars on a terminal, plain lines when piped, as `docker pull`.
        let renderer = Renderer(ProgressRenderer(mode: isatty(1) != 0 ? .terminal : .plain))
        do {
            let image = try await ImagePuller(client: client, store: store).pull(try ImageReference(parsing: reference)) { event in
                if verbose {
                    print(event)
                } else if json {
                    print(String(decoding: (try? JSONEncoder().encode(event.message)) ?? Data(), as: UTF8.self))
                } else {
                    renderer.write(event.message)
                }
            }
            if !verbose && !json { print("Status: Downloaded newer image for \(reference)") }
            print(image.id)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}

/// Serializes progress output from concurrent downloads.
final class Renderer: Sendable {
    private let renderer: Mutex<ProgressRenderer>

    init(_ renderer: sending ProgressRenderer) { self.renderer = Mutex(renderer) }

    func write(_ message: ProgressMessage) {
        renderer.withLock { renderer in
            let text = renderer.render(message)
            if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
        }
    }
}
