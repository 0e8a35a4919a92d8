public import Logging
public import WeighbridgeCore
public import WeighbridgeReporting
public import WeighbridgeStore

/// Keeps Defra's reference lists current: fetches all five at start and then daily, checks them,
/// caches them in the store (so the next start validates against them before its first
/// refresh) and puts them in force. A list that fails to arrive or to parse changes nothing: the
/// lists in force stay, and the refresh is tried again in an hour.
public struct ReferenceDataRefresh: Sendable {
    let store: Store
    let sender: ReportSender
    let cache: ReferenceCatalogueCache
    let logger: Logger
    let now: @Sendable () -> Timestamp
    /// Between successful refreshes.
    public var interval: Duration = .seconds(24 * 3600)
    /// After a failed one.
    public var retry: Duration = .seconds(3600)

    /// A refresh of `cache` through `sender`, cached in `store`.
    public init(
        store: Store, sender: ReportSender, cache: ReferenceCatalogueCache, logger: Logger,
        now: @escaping @Sendable () -> Timestamp
    ) {
        self.store = store
        self.sender = sender
        self.cache = cache
        self.logger = logger
        self.now = now
    }

    /// Refreshes until cancelled.
    public func run() async {
        while !Task.isCancelled {
            let refreshed = await refreshOnce()
            do { try await Task.sleep(for: refreshed ? interval : retry) } catch { return }
        }
    }

    /// One refresh of every list; true when all were fetched, checked, stored and put in force.
    @discardableResult
    public func refreshOnce() async -> Bool {
        var texts: [String: String] = [:]
        do {
            for list in ReferenceCatalogue.lists { texts[list] = try await sender.referenceList(list) }
            let fresh = try ReferenceCatalogue(lists: texts)
            let lists = texts
            try await store.write(at: now()) { transaction in
                for (list, body) in lists { try transaction.saveReferenceData(list: list, body: body) }
            }
            cache.replace(with: fresh)
            logger.info(
                """
                Defra reference data refreshed: \(fresh.ewcHazardous.count) EWC codes, \
                \(fresh.containerTypes.count) container types
                """)
            return true
        } catch {
            logger.warning("Defra reference data not refreshed (the lists in force stay): \(error)")
            return false
        }
    }
}
