using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP proxy between a client (Npgsql) and PostgreSQL that can lose the answer to a COMMIT for real: once armed,
/// it forwards the client's next COMMIT, waits until PostgreSQL's reply arrives (so the server has committed), then
/// drops that reply and cuts the client's connection. The client sees its commit fail although it happened.
/// Everything else is forwarded byte for byte.
/// </summary>
public sealed class CommitAnswerDroppingProxy : IAsyncDisposable
{
    static readonly byte[] Commit = Encoding.ASCII.GetBytes("COMMIT");

    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly string upstreamHost;
    readonly int upstreamPort;
    readonly CancellationTokenSource stop = new();
    volatile bool armed;
    int dropped;

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;
    /// <summary>How many COMMIT answers were dropped after PostgreSQL had sent them.</summary>
    public int DroppedCommitAnswers => Volatile.Read(ref dropped);

    CommitAnswerDroppingProxy(string host, int port) { upstreamHost = host; upstreamPort = port; }

    public static CommitAnswerDroppingProxy Start(string upstreamHost, int upstreamPort)
    {
        var proxy = new CommitAnswerDroppingProxy(upstreamHost, upstreamPort);
        proxy.listener.Start();
        _ = proxy.AcceptLoopAsync();
        return proxy;
    }

    /// <summary>The next COMMIT sent through the proxy loses its answer.</summary>
    public void DropNextCommitAnswer() => armed = true;

    async Task AcceptLoopAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = ServeAsync(client);
        }
    }

    async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        await server.ConnectAsync(upstreamHost, upstreamPort, stop.Token);
        var commitSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var toServer = PumpAsync(client.GetStream(), server.GetStream(), chunk =>
        {
            if (armed && chunk.AsSpan().IndexOf(Commit) >= 0) { armed = false; commitSent.TrySetResult(); }
            return true;
        });
        var toClient = PumpAsync(server.GetStream(), client.GetStream(), _ =>
        {
            if (!commitSent.Task.IsCompleted) return true;
            // PostgreSQL answered the COMMIT: it is done. The client never hears it.
            Interlocked.Increment(ref dropped);
            client.Client.Close();
            server.Client.Close();
            return false;
        });
        await Task.WhenAny(toServer, toClient);
    }

    async Task PumpAsync(NetworkStream from, NetworkStream to, Func<byte[], bool> forward)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, stop.Token)) > 0)
            {
                var chunk = buffer[..n];
                if (!forward(chunk)) return;
                await to.WriteAsync(chunk, stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException) { }
    }

    public ValueTask DisposeAsync()
    {
        stop.Cancel();
        listener.Stop();
        stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
