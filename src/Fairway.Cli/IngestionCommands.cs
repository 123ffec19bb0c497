using System.CommandLine;

namespace Fairway.Cli;

/// <summary>`fairway ingestion status|events|poll|replay` through the admin API.</summary>
public static class IngestionCommands
{
    public static Command Build()
    {
        var status = new Command("status", "Per tournament: last fetch and its outcome, last accepted event, lag, rejected and failed counts.");
        status.SetAction(_ => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, "/api/admin/ingestion/status")));

        var tournament = new Option<string>("--tournament") { Description = "Fairway tournament id.", Required = true };
        var outcome = new Option<string?>("--outcome") { Description = "accepted, duplicate, rejected or fetch_failed." };
        var limit = new Option<int>("--limit") { Description = "At most this many (1..500).", DefaultValueFactory = _ => 50 };
        var events = new Command("events", "Stored fetches of a tournament, oldest first, with errors and anomalies.") { tournament, outcome, limit };
        events.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get,
            $"/api/admin/ingestion/tournaments/{Uri.EscapeDataString(p.GetValue(tournament)!)}/events?limit={p.GetValue(limit)}" +
            (p.GetValue(outcome) is { } o ? $"&outcome={Uri.EscapeDataString(o)}" : ""))));

        var poll = new Command("poll", "Poll the provider for a tournament now (runs in a worker; waits up to 60 s for the result).") { tournament };
        poll.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/ingestion/tournaments/{Uri.EscapeDataString(p.GetValue(tournament)!)}/poll?wait_seconds=60")));

        var replay = new Command("replay", "Recompute scoring from the stored events and compare with what was recorded (mismatches raise score_audit_mismatches).") { tournament };
        // Exit 1 when any recomputation differs from what was recorded, so a runbook step can test it.
        replay.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/ingestion/tournaments/{Uri.EscapeDataString(p.GetValue(tournament)!)}/replay",
            judge: r => r.GetProperty("mismatches").GetInt32() == 0 ? CliOutput.Ok : CliOutput.Failed)));
        return new Command("ingestion", "Provider ingestion.") { status, events, poll, replay };
    }
}
