using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// What Stripe last said about a pending payment, as the payment sweeper read it: the PaymentIntent's <c>status</c> and
/// when it was read. A payment Stripe reports as waiting for the player (an abandoned or unfinished checkout:
/// <c>requires_payment_method</c>, <c>requires_confirmation</c>, <c>requires_action</c>) is not orphaned: the player has
/// not paid, and the contest's closer cancels the intent at lock. Only the others count as overdue
/// (<c>payments_pending_overdue</c>, alert PaymentsPendingOverdue). Bookkeeping of the sweeper, not a payment state.
/// </summary>
[Migration(202612010060, "payments.stripe_status and stripe_status_at: the PaymentIntent status the sweeper last read")]
public sealed class M202612010060_PaymentStripeStatus : Migration
{
    public override void Up() => Execute.Sql("""
        ALTER TABLE payments ADD COLUMN stripe_status text CHECK (length(stripe_status) <= 40);
        ALTER TABLE payments ADD COLUMN stripe_status_at timestamptz;
        COMMENT ON COLUMN payments.stripe_status IS 'PaymentIntent status the payment sweeper last read from Stripe (null: never read)';
        """);

    public override void Down() => Execute.Sql("""
        ALTER TABLE payments DROP COLUMN stripe_status_at;
        ALTER TABLE payments DROP COLUMN stripe_status;
        """);
}
