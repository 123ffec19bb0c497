namespace Fairway.Host.Ledger.Corrections;

public static class CorrectionsSetup
{
    /// <summary>The closed list of correction kinds and the service that posts them (every role: reconciliation reads them too).</summary>
    public static void AddFairwayLedgerCorrections(this IServiceCollection services)
    {
        services.AddSingleton<CorrectionKind, DisputeLossOutsideEscrow>();
        services.AddSingleton<CorrectionKind, RefundOutsideFairway>();
        services.AddSingleton<CorrectionKind, TransferOutsideFairway>();
        services.AddSingleton<CorrectionKind, PaymentOutsideFairway>();
        services.AddSingleton<CorrectionKind, ProcessingFeeAdjustment>();
        services.AddSingleton<LedgerCorrectionService>();
    }
}
