import Dispatch

/// File system work that blocks (walking a layer, a tar, a diff, a commit) runs on Dispatch's
/// threads, never on an actor nor on the cooperative pool, whose few threads (one per core)
/// would otherwise all wait on the disk while requests queue behind them.
enum BlockingWork {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}
