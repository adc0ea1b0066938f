import ArgumentParser
import BerthImages
import BerthOCI
import BerthRegistry
import Foundation

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

    @Flag(help: "Print progress events.")
    var verbose = false

    func run() async throws {
        let store = try ImageStore(root: root)
        var configuration = RegistryConfiguration()
        configuration.maxConcurrentDownloads = jobs
        let client = RegistryClient(configuration: configuration)
        let verbose = self.verbose
        do {
            let image = try await ImagePuller(client: client, store: store).pull(try ImageReference(parsing: reference)) { event in
                if verbose { print(event) }
            }
            print(image.id)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
