using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Prometheus;

namespace Fairway.Host.Platform.Database;

/// <summary>
/// Seed 001's <c>database_connection_pool_available</c>: connections this process could still open before a
/// pool is exhausted, for its tightest Npgsql pool (the API/job data source and Hangfire's pool are separate;
/// either one exhausted stalls its callers). Read from Npgsql's own meter at scrape time.
/// </summary>
public sealed class ConnectionPoolMetrics : IHostedService, IDisposable
{
    public static readonly Gauge Available = Metrics.CreateGauge("database_connection_pool_available",
        "Connections the tightest Npgsql pool of this process can still hand out (maximum pool size minus connections in use).");

    const string CountInstrument = "db.client.connection.count";
    const string MaxInstrument = "db.client.connection.max";
    readonly MeterListener listener = new();
    readonly ConcurrentDictionary<string, long> used = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, long> max = new(StringComparer.Ordinal);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Npgsql" && instrument.Name is CountInstrument or MaxInstrument) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        listener.Start();
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            used.Clear();
            listener.RecordObservableInstruments();
            // A pool that exists but has never opened a connection has all of its maximum available.
            var pools = max.Keys.ToList();
            Available.Set(pools.Count == 0 ? double.NaN : pools.Min(p => max[p] - used.GetValueOrDefault(p)));
        });
        return Task.CompletedTask;
    }

    void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string pool = "", state = "";
        foreach (var t in tags)
        {
            if (t.Key == "db.client.connection.pool.name") pool = t.Value?.ToString() ?? "";
            else if (t.Key == "db.client.connection.state") state = t.Value?.ToString() ?? "";
        }
        if (instrument.Name == MaxInstrument) max[pool] = value;
        else if (state == "used") used[pool] = used.GetValueOrDefault(pool) + value;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => listener.Dispose();
}
