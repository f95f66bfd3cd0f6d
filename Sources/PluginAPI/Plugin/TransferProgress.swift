// How a registry client reports the progress of blob transfers to the host (added in 3.1).
//
// The host binds an observer to the task that calls the client (a task-local value, so no
// requirement of `RegistryClient` changes); a client that can count bytes asks it for a watch
// when a blob transfer starts, reports the bytes moved, and ends the watch. A client that never
// asks simply shows no progress.

/// Which way a blob moves.
public enum TransferDirection: String, Sendable {
    case download
    case upload
}

/// The host's side: told when a blob transfer starts.
public protocol TransferObserver: Sendable {
    /// A transfer of `descriptor`'s blob starts. Returns the watch to report to, or nil when the
    /// host does not follow this one (a small blob, progress turned off).
    func transferStarted(_ descriptor: Descriptor, direction: TransferDirection) -> (any TransferWatch)?
}

/// One blob transfer being followed. Called from any thread, often (libcurl reports several
/// times a second): implementations must be cheap and thread-safe.
public protocol TransferWatch: Sendable {
    /// Bytes of the blob transferred so far, counting a resumed prefix (so it may go back
    /// when a transfer starts over).
    func moved(_ bytes: Int64)
    /// The transfer finished, or failed for good.
    func ended()
}

/// Where a client finds the observer of the task it runs in.
public enum TransferProgress {
    /// The observer the host bound around its calls (`TransferProgress.$observer.withValue`);
    /// nil when nobody follows transfers. Child tasks and `Task {}` inherit it.
    @TaskLocal public static var observer: (any TransferObserver)?
}
