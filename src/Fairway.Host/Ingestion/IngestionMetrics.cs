using Prometheus;

namespace Fairway.Host.Ingestion;

/// <summary>Seed 001 and issue metric names for ingestion.</summary>
public static class IngestionMetrics
{
    public static readonly Counter Events = Metrics.CreateCounter("ingestion_events_total", "Provider fetches recorded, by outcome (accepted, duplicate, rejected, fetch_failed).", "outcome");
    public static readonly Counter Rejected = Metrics.CreateCounter("ingestion_rejected_total", "Fetched payloads rejected by validation or consistency checks.", "tournament");
    public static readonly Counter Anomalies = Metrics.CreateCounter("ingestion_anomalies_total", "Cross-event inconsistencies detected, by kind.", "kind");
    public static readonly Histogram FetchDuration = Metrics.CreateHistogram("ingestion_fetch_duration_seconds", "Duration of one provider fetch including retries.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });
    public static readonly Histogram StandingsDuration = Metrics.CreateHistogram("standings_recompute_duration_seconds", "Duration of recomputing one contest's standings.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
    public static readonly Counter ScoreAuditMismatches = Metrics.CreateCounter("score_audit_mismatches", "Replays or audits whose recomputed output hash differs from the recorded one.");
    public static readonly Gauge Lag = Metrics.CreateGauge("ingestion_lag_seconds", "Time since the last successful (accepted or duplicate) fetch, per tournament with an unfinished contest.", "tournament");
    public static readonly Gauge Failing = Metrics.CreateGauge("ingestion_failing", "1 when a tournament's ingestion lag exceeds INGESTION_FAILURE_THRESHOLD_SECONDS.", "tournament");
}
