using System.CommandLine;

namespace Fairway.Cli;

/// <summary><c>fairway killswitch status|on|off --reason "…"</c>, through the admin API (audited with the token's subject).</summary>
public static class KillSwitchCommands
{
    public static Command Build()
    {
        var status = new Command("status", "Show the kill-switch: engaged or not, since when, by whom, why.");
        status.SetAction(_ => Call(c => c.SendAsync(HttpMethod.Get, "/api/admin/kill-switch")));
        return new Command("killswitch", "The kill-switch that stops every money mutation (entries, refunds, settlement, payouts).")
        {
            status,
            Set("on", "Engage the kill-switch: every money mutation is refused until it is turned off.", engaged: true),
            Set("off", "Disengage the kill-switch: money mutations resume.", engaged: false),
        };
    }

    static Command Set(string name, string description, bool engaged)
    {
        var reason = new Option<string>("--reason") { Description = "Why (3..500 characters): who asked, incident or ticket. Recorded in the audit trail.", Required = true };
        var cmd = new Command(name, description) { reason };
        cmd.SetAction(parse => Call(c => c.SendAsync(HttpMethod.Put, "/api/admin/kill-switch", new { engaged, reason = parse.GetValue(reason) })));
        return cmd;
    }

    static async Task<int> Call(Func<AdminApiClient, Task<int>> action)
    {
        using var client = AdminApiClient.FromEnvironment(out var error);
        if (client is null) return CliOutput.Error(CliOutput.Usage, error!);
        return await action(client);
    }
}
