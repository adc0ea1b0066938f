import Glibc
import SystemPackage

/// A failed system call, naming what was attempted: `mount /proc (proc): Operation not permitted`.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public let operation: String
    public let errno: Errno

    public init(_ operation: String, errno: Errno = Errno(rawValue: Glibc.errno)) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno.rawValue)))" }
}

/// Throws `SystemError(operation)` when a libc call returned -1; retries on EINTR.
@discardableResult
@inline(__always)
public func syscallChecked<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let err = Glibc.errno
        if err == EINTR { continue }
        throw SystemError(operation(), errno: Errno(rawValue: err))
    }
}
