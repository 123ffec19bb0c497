using Fairway.Engine.Config;
using Fairway.Engine.Contests;
using Fairway.Engine.Golf;
using Fairway.Engine.Json;

namespace Fairway.Engine.Settlement;

/// <summary>Ranks entries and splits the pool. The rules are the contract documented in README.md.</summary>
public static class SettlementCalculator
{
    public static EngineResult<SettlementResult> Settle(SettlementRules rules, Leaderboard lb, IReadOnlyList<SettlementEntry> entries) =>
        Settle(rules, lb, entries, "rules", "entries");

    /// <summary>
    /// Live standings: the same ranking and prize rules as <see cref="Settle"/> applied to the current
    /// leaderboard, except that a contest with fewer entries than paid places is still ranked (the
    /// prizes of unoccupied places are simply not projected). Never used to move money.
    /// </summary>
    public static EngineResult<SettlementResult> Project(SettlementRules rules, Leaderboard lb, IReadOnlyList<SettlementEntry> entries) =>
        Settle(rules, lb, entries, "rules", "entries", requireFullAllocation: false);

    internal static EngineResult<SettlementResult> Settle(
        SettlementRules rules, Leaderboard lb, IReadOnlyList<SettlementEntry> entries, string rulesPath, string entriesPath, bool requireFullAllocation = true)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(lb);
        ArgumentNullException.ThrowIfNull(entries);

        var sink = new ErrorSink();
        CheckRules(rules, rulesPath, sink);
        CheckEntries(entries, rules.RosterSize, entriesPath, sink);
        if ((Int128)rules.EntryFee * entries.Count > long.MaxValue)
        {
            sink.Add(JsonPath.Field(rulesPath, "entry_fee"), ErrorCodes.PoolOverflow, "entry_fee × number of entries does not fit in a 64-bit amount.");
        }
        if (sink.Count == 0 && entries.Count > 0 && requireFullAllocation)
        {
            // A paid place nobody occupies would leave money unallocated, breaking prizes + rake == gross.
            // Hosts cancel under-filled contests (min_entries >= paid places), so reaching this is a host bug.
            var highestPaidPlace = rules.PayoutTable.Where(p => p.Bps > 0).Max(p => p.Place);
            if (entries.Count < highestPaidPlace)
            {
                sink.Add(entriesPath, ErrorCodes.EntriesBelowPaidPlaces,
                    $"{entries.Count} entries cannot fill paid place {highestPaidPlace}; an under-filled contest must be cancelled, not settled.");
            }
        }
        if (sink.Count > 0)
        {
            return EngineResult<SettlementResult>.Failure(sink.Errors);
        }

        StrokePlayScores scores;
        long[] entryScores;
        try
        {
            scores = StrokePlayScoring.Apply(rules.RoundCount, rules.UnplayedRoundStrokes, lb);
            entryScores = entries.Select(e => e.Golfers.Aggregate(0L, (sum, g) => checked(sum + scores.TotalFor(g)))).ToArray();
        }
        catch (OverflowException)
        {
            sink.Add(entriesPath, ErrorCodes.ScoreOverflow, "A golfer or entry score does not fit in a 64-bit integer.");
            return EngineResult<SettlementResult>.Failure(sink.Errors);
        }

        return EngineResult<SettlementResult>.Success(Compute(rules, entries, entryScores, requireFullAllocation));
    }

    private static SettlementResult Compute(SettlementRules rules, IReadOnlyList<SettlementEntry> entries, long[] entryScores, bool requireFullAllocation)
    {
        var gross = checked(rules.EntryFee * entries.Count);
        var rake = (long)((Int128)gross * rules.RakeBps / PayoutTableRules.FullBps);
        var net = gross - rake;
        var placePrizes = PlacePrizes(net, rules.PayoutTable);

        var ranked = entries
            .Select((e, i) => (Entry: e, Score: entryScores[i]))
            .OrderBy(x => x.Score)
            .ThenBy(x => x.Entry.Id, StringComparer.Ordinal)
            .ToArray();

        var settled = new List<SettledEntry>(ranked.Length);
        var position = 0; // 0-based index into ranked; place = position + 1
        while (position < ranked.Length)
        {
            var tieEnd = position;
            while (tieEnd + 1 < ranked.Length && ranked[tieEnd + 1].Score == ranked[position].Score)
            {
                tieEnd++;
            }
            var tied = tieEnd - position + 1;

            long pot = 0;
            for (var place = position + 1; place <= tieEnd + 1 && place <= placePrizes.Length; place++)
            {
                pot += placePrizes[place - 1];
            }
            var share = pot / tied;
            var extraUnits = pot - share * tied;

            // Already in ascending id order, so the first extraUnits tied entries get one more unit each.
            for (var k = 0; k < tied; k++)
            {
                var (entry, score) = ranked[position + k];
                settled.Add(new SettledEntry(entry.Id, entry.UserId, score, position + 1, share + (k < extraUnits ? 1 : 0)));
            }
            position = tieEnd + 1;
        }

        var paid = settled.Sum(e => e.Prize);
        if (requireFullAllocation && paid + rake != gross)
        {
            throw new InvalidOperationException($"Settlement invariant broken: prizes {paid} + rake {rake} != gross {gross}.");
        }
        return new SettlementResult(rules.ContestId, gross, rake, net, settled);
    }

    /// <summary>Prize per place (index 0 = place 1): floor(net × bps / 10000), then the leftover units one at a time
    /// to places 1, 2, 3, … so the places always sum to exactly <paramref name="net"/>.</summary>
    internal static long[] PlacePrizes(long net, IReadOnlyList<PayoutPlace> table)
    {
        var prizes = new long[table.Count];
        foreach (var row in table)
        {
            prizes[row.Place - 1] = (long)((Int128)net * row.Bps / PayoutTableRules.FullBps);
        }
        var leftover = net - prizes.Sum();
        for (var i = 0; leftover > 0; i = (i + 1) % prizes.Length, leftover--)
        {
            prizes[i]++;
        }
        return prizes;
    }

    private static void CheckRules(SettlementRules rules, string path, ErrorSink sink)
    {
        if (string.IsNullOrEmpty(rules.ContestId))
        {
            sink.Add(JsonPath.Field(path, "id"), ErrorCodes.EmptyString, "Contest id must not be empty.");
        }
        if (rules.EntryFee < 0)
        {
            sink.Add(JsonPath.Field(path, "entry_fee"), ErrorCodes.OutOfRange, $"entry_fee must be at least 0, found {rules.EntryFee}.");
        }
        if (rules.Currency is null || !StrictFormats.Currency(rules.Currency))
        {
            sink.Add(JsonPath.Field(path, "currency"), ErrorCodes.InvalidCurrency, $"Must be 3 lowercase ASCII letters, found '{rules.Currency}'.");
        }
        if (rules.RakeBps is < 0 or > PayoutTableRules.FullBps)
        {
            sink.Add(JsonPath.Field(path, "rake_bps"), ErrorCodes.OutOfRange, $"rake_bps must be between 0 and 10000, found {rules.RakeBps}.");
        }
        if (rules.RosterSize < 1)
        {
            sink.Add(JsonPath.Field(path, "roster_size"), ErrorCodes.OutOfRange, $"roster_size must be at least 1, found {rules.RosterSize}.");
        }
        if (rules.RoundCount is < 1 or > ContestConfigValidator.MaxRoundCount)
        {
            sink.Add(JsonPath.Field(path, "round_count"), ErrorCodes.OutOfRange,
                $"round_count must be between 1 and {ContestConfigValidator.MaxRoundCount}, found {rules.RoundCount}.");
        }
        if (rules.UnplayedRoundStrokes is < 1 or > ContestConfigValidator.MaxUnplayedRoundStrokes)
        {
            sink.Add(JsonPath.Field(path, "unplayed_round_strokes"), ErrorCodes.OutOfRange,
                $"unplayed_round_strokes must be between 1 and {ContestConfigValidator.MaxUnplayedRoundStrokes}, found {rules.UnplayedRoundStrokes}.");
        }
        PayoutTableRules.CheckTyped(rules.PayoutTable, JsonPath.Field(path, "payout_table"), sink);
    }

    private static void CheckEntries(IReadOnlyList<SettlementEntry> entries, int rosterSize, string path, ErrorSink sink)
    {
        var firstSeen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            var entryPath = JsonPath.Index(path, i);
            var entry = entries[i];
            if (entry is null)
            {
                sink.Add(entryPath, ErrorCodes.MissingField, "Entry is null.");
                continue;
            }
            if (string.IsNullOrEmpty(entry.Id))
            {
                sink.Add(JsonPath.Field(entryPath, "id"), ErrorCodes.EmptyString, "Entry id must not be empty.");
            }
            else if (!firstSeen.TryAdd(entry.Id, i))
            {
                sink.Add(JsonPath.Field(entryPath, "id"), ErrorCodes.DuplicateEntryId,
                    $"Entry id '{entry.Id}' appears more than once (first at index {firstSeen[entry.Id]}).");
            }
            if (string.IsNullOrEmpty(entry.UserId))
            {
                sink.Add(JsonPath.Field(entryPath, "user_id"), ErrorCodes.EmptyString, "user_id must not be empty.");
            }
            if (entry.Golfers is null)
            {
                sink.Add(JsonPath.Field(entryPath, "golfers"), ErrorCodes.MissingField, "golfers is required.");
            }
            else
            {
                ContestRulesValidator.CheckShape(entry.Golfers, rosterSize, JsonPath.Field(entryPath, "golfers"), sink);
            }
        }
    }
}
