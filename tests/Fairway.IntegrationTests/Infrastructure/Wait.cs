namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>Waiting for a recorded outcome (a row, a status), polled, with a bound — never a bare sleep.</summary>
public static class Wait
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int seconds = 45)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"not reached within {seconds}s: {what}");
            await Task.Delay(100);
        }
    }
}
