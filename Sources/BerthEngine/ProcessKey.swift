/// Whose exit a waiter waits for: a container's process, or an exec's.
enum ProcessKey: Hashable, Sendable {
    case container(String)
    case exec(String)
}
