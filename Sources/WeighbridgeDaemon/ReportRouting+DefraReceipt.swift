public import WeighbridgeReporting

extension ReportRouting {
    /// Defra's Receipt API: a confirmation becomes a receipt POST (not idempotent), or, for a
    /// movement the carrier already created, a PUT to its `wasteTrackingId` (idempotent); a Discrepancy
    /// has no such object there and is held locally for the operator; a movement whose receipt
    /// data would not pass Defra's rules is held with the problems named, instead of being sent.
    public static func defraReceipt(document: DefraReceiptDocument) -> ReportRouting {
        ReportRouting(
            reportsDiscrepancies: false,
            outboxKind: { _, movement in movement.wasteTrackingID == nil ? (.receipt, false) : (.carrierReceipt, true)
            },
            missingReceiptFields: { movement, receipt in document.problems(movement: movement, receipt: receipt) },
            carriesReceiptData: true)
    }
}
