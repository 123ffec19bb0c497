using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>Ops can pause one recurring job (e.g. the payout scheduler during a Stripe incident) without the kill-switch.</summary>
[Migration(202611230011, "recurring_job_pauses")]
public sealed class M202611230011_RecurringJobPauses : Migration
{
    public override void Up() => Execute.Sql("""
        -- Current pauses only; every pause and resume is also an audit row.
        CREATE TABLE recurring_job_pauses (
            recurring_job_id text PRIMARY KEY CHECK (length(recurring_job_id) BETWEEN 1 AND 100),
            paused_at        timestamptz NOT NULL,
            paused_by        text NOT NULL,
            reason           text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500)
        );
        """);

    public override void Down() => Execute.Sql("DROP TABLE recurring_job_pauses;");
}
