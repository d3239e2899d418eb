import Foundation
import ServiceKit

/// An allocation as the store keeps it.
public struct StoredAllocation: Sendable, Equatable {
    var id: UUID
    var lessonID: UUID
    var edgeID: UUID
    /// Where the viewer is.
    var network: String
    var region: String
    var askedRendition: String
    var rendition: String
    var bitrateMbps: Double
    var replaces: UUID?
}

/// What must reach the store, in the order it was decided: the fleet records these in its
/// group-commit journal under its lock, and an allocation is answered once its batch committed.
enum AllocationOperation: Sendable, Equatable {
    case insert(StoredAllocation)
    case delete(UUID)

    var id: UUID {
        switch self {
        case .insert(let row): row.id
        case .delete(let id): id
        }
    }

    /// The last word on each id in a batch: an insert and a later delete of one allocation
    /// become the delete.
    static func net(_ operations: [AllocationOperation]) -> (inserts: [StoredAllocation], deletes: [UUID]) {
        var last: [UUID: AllocationOperation] = [:]
        for operation in operations { last[operation.id] = operation }
        var inserts: [StoredAllocation] = [], deletes: [UUID] = []
        for operation in last.values {
            switch operation {
            case .insert(let row): inserts.append(row)
            case .delete(let id): deletes.append(id)
            }
        }
        return (inserts, deletes)
    }
}

typealias AllocationJournal = GroupCommitJournal<AllocationOperation>
