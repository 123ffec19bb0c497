using System.CommandLine;

namespace Fairway.Cli;

/// <summary>The command tree of `fairway`. Built here (not in Program.cs) so tests can check runbook commands against the real tree.</summary>
public static class CliRoot
{
    public static RootCommand Build()
    {
        var root = new RootCommand("fairway: the ops CLI of Fairway. Admin commands talk to the admin API (FAIRWAY_API_URL, FAIRWAY_API_TOKEN); `fairway db …` needs DATABASE_URL.");
        root.Add(DbCommands.Build());
        root.Add(TokenCommand.Build());
        root.Add(AdminCommands.Jobs());
        root.Add(AdminCommands.Health());
        root.Add(AdminCommands.Clock());
        root.Add(KillSwitchCommands.Build());
        root.Add(PaymentCommands.Build());
        root.Add(PaymentCommands.Webhooks());
        root.Add(SettlementCommands.Build());
        root.Add(PayoutCommands.Build());
        root.Add(ContestCommands.Build());
        root.Add(IngestionCommands.Build());
        root.Add(RunbookCommands.Build());
        root.Add(ReconciliationCommands.Build());
        root.Add(LedgerCommands.Build());
        root.Add(EnvCommands.Build());
        root.Add(ConfigCommands.Build());
        root.Add(ReleaseCommands.Build());
        root.Add(ContractCommands.Contract());
        root.Add(ContractCommands.Version());
        root.Add(AuditCommands.Audit());
        root.Add(AuditCommands.Alerts());
        root.Add(SignalCommands.Build());
        return root;
    }
}
