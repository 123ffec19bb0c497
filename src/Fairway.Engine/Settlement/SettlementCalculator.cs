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
    /// Live standings: the same ranking and prize rules as <see cref="Settle(SettlementRules, Leaderboard, IReadOnlyList{SettlementEntry})"/>
    /// applied to the current leaderboard, except that a contest with fewer entries than paid places is still ranked (the
    /// prizes of unoccupied places are simply not projected). Never used to move money.
    /// </summary>
    public static EngineResult<SettlementResult> Project(SettlementRules rules, Leaderboard lb, IReadOnlyList<SettlementEntry> entries) =>
        Settle(rules, lb, entries, "rules", "entries", requireFullAllocation: false);

    /// <summary>
    /// The same settlement over a compact <see cref="EntrySet"/> (any size): the same validation, errors, ranking and prizes
    /// as the list overload, without materialising an object per entry. Results stay in arrays (<see cref="RankedSettlement"/>).
    /// </summary>
    public static EngineResult<RankedSettlement> Settle(SettlementRules rules, Leaderboard lb, EntrySet entries) =>
        Settle(rules, lb, entries, requireFullAllocation: true);

    /// <summary>Live standings over a compact <see cref="EntrySet"/>; see <see cref="Project(SettlementRules, Leaderboard, IReadOnlyList{SettlementEntry})"/>.</summary>
    public static EngineResult<RankedSettlement> Project(SettlementRules rules, Leaderboard lb, EntrySet entries) =>
        Settle(rules, lb, entries, requireFullAllocation: false);

    internal static EngineResult<SettlementResult> Settle(
        SettlementRules rules, Leaderboard lb, IReadOnlyList<SettlementEntry> entries, string rulesPath, string entriesPath, bool requireFullAllocation = true)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(lb);
        ArgumentNullException.ThrowIfNull(entries);

        var sink = new ErrorSink();
        CheckRules(rules, rulesPath, sink);
        CheckEntries(entries, rules.RosterSize, entriesPath, sink);
        CheckPool(rules, entries.Count, rulesPath, entriesPath, requireFullAllocation, sink);
        if (sink.Count > 0)
        {
            return EngineResult<SettlementResult>.Failure(sink.Errors);
        }
        var ranked = Rank(rules, lb, EntrySet.From(entries, hash: false), entriesPath, requireFullAllocation);
        return ranked.IsSuccess
            ? EngineResult<SettlementResult>.Success(ranked.Value.ToResult())
            : EngineResult<SettlementResult>.Failure(ranked.Errors);
    }

    private static EngineResult<RankedSettlement> Settle(SettlementRules rules, Leaderboard lb, EntrySet entries, bool requireFullAllocation)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(lb);
        ArgumentNullException.ThrowIfNull(entries);

        var sink = new ErrorSink();
        CheckRules(rules, "rules", sink);
        if (!EntriesValid(entries, rules.RosterSize))
        {
            // Rare (the host validates rosters at entry time): the list form reports every error exactly as it always has.
            CheckEntries(entries.ToEntries(), rules.RosterSize, "entries", sink);
        }
        CheckPool(rules, entries.Count, "rules", "entries", requireFullAllocation, sink);
        return sink.Count > 0
            ? EngineResult<RankedSettlement>.Failure(sink.Errors)
            : Rank(rules, lb, entries, "entries", requireFullAllocation);
    }

    private static void CheckPool(SettlementRules rules, int count, string rulesPath, string entriesPath, bool requireFullAllocation, ErrorSink sink)
    {
        if ((Int128)rules.EntryFee * count > long.MaxValue)
        {
            sink.Add(JsonPath.Field(rulesPath, "entry_fee"), ErrorCodes.PoolOverflow, "entry_fee × number of entries does not fit in a 64-bit amount.");
        }
        if (sink.Count == 0 && count > 0 && requireFullAllocation)
        {
            // A paid place nobody occupies would leave money unallocated, breaking prizes + rake == gross.
            // Hosts cancel under-filled contests (min_entries >= paid places), so reaching this is a host bug.
            var highestPaidPlace = rules.PayoutTable.Where(p => p.Bps > 0).Max(p => p.Place);
            if (count < highestPaidPlace)
            {
                sink.Add(entriesPath, ErrorCodes.EntriesBelowPaidPlaces,
                    $"{count} entries cannot fill paid place {highestPaidPlace}; an under-filled contest must be cancelled, not settled.");
            }
        }
    }

    /// <summary>What <see cref="CheckEntries"/> accepts, checked without allocating: ids non-empty and unique (the set is
    /// sorted, so duplicates are neighbours), user ids non-empty, rosters of exactly roster_size distinct non-empty ids.</summary>
    private static bool EntriesValid(EntrySet entries, int rosterSize)
    {
        if (rosterSize > 0 && entries.ValidRosterSize == rosterSize)
        {
            return true;
        }
        var golfers = entries.Golfers;
        for (var i = 0; i < entries.Count; i++)
        {
            var id = entries.IdAt(i);
            if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(entries.UserIdAt(i)) || (i > 0 && string.Equals(entries.IdAt(i - 1), id, StringComparison.Ordinal)))
            {
                return false;
            }
            var roster = entries.RosterAt(i);
            if (roster.Length != rosterSize)
            {
                return false;
            }
            for (var k = 0; k < roster.Length; k++)
            {
                if (string.IsNullOrEmpty(golfers[roster[k]]) || roster[..k].Contains(roster[k]))
                {
                    return false;
                }
            }
        }
        entries.ValidRosterSize = rosterSize;
        return true;
    }

    /// <summary>Score, rank and split the pool over validated entries (the contract in README.md).</summary>
    private static EngineResult<RankedSettlement> Rank(SettlementRules rules, Leaderboard lb, EntrySet entries, string entriesPath, bool requireFullAllocation)
    {
        var scores = new long[entries.Count];
        try
        {
            var strokes = StrokePlayScoring.Apply(rules.RoundCount, rules.UnplayedRoundStrokes, lb);
            // A golfer's total is looked up once per event, not once per roster slot.
            var totals = entries.Golfers.Select(strokes.TotalFor).ToArray();
            for (var i = 0; i < scores.Length; i++)
            {
                long sum = 0;
                foreach (var g in entries.RosterAt(i))
                {
                    sum = checked(sum + totals[g]);
                }
                scores[i] = sum;
            }
        }
        catch (OverflowException)
        {
            return EngineResult<RankedSettlement>.Failure(new[] { new EngineError(entriesPath, ErrorCodes.ScoreOverflow, "A golfer or entry score does not fit in a 64-bit integer.") });
        }
        return EngineResult<RankedSettlement>.Success(Allocate(rules, entries, scores, requireFullAllocation));
    }

    private static RankedSettlement Allocate(SettlementRules rules, EntrySet entries, long[] scores, bool requireFullAllocation)
    {
        var gross = checked(rules.EntryFee * entries.Count);
        var rake = (long)((Int128)gross * rules.RakeBps / PayoutTableRules.FullBps);
        var net = gross - rake;
        var placePrizes = PlacePrizes(net, rules.PayoutTable);

        // Entries are in ascending id order, so a stable sort by score gives (score, id ordinal).
        var order = OrderByScore(scores);
        var ranks = new int[order.Length];
        var prizes = new long[order.Length];
        long paid = 0;
        var position = 0; // 0-based index into order; place = position + 1
        while (position < order.Length)
        {
            var tieEnd = position;
            while (tieEnd + 1 < order.Length && scores[order[tieEnd + 1]] == scores[order[position]])
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
                ranks[position + k] = position + 1;
                prizes[position + k] = share + (k < extraUnits ? 1 : 0);
                paid += prizes[position + k];
            }
            position = tieEnd + 1;
        }

        if (requireFullAllocation && paid + rake != gross)
        {
            throw new InvalidOperationException($"Settlement invariant broken: prizes {paid} + rake {rake} != gross {gross}.");
        }
        return new RankedSettlement(rules.ContestId, gross, rake, net, entries, order, scores, ranks, prizes);
    }

    /// <summary>Entry indices by ascending score, stable (equal scores keep index order). Scores of a contest span a small
    /// range (strokes), so a counting sort does it in linear time; a wide range falls back to a comparison sort.</summary>
    private static int[] OrderByScore(long[] scores)
    {
        var order = new int[scores.Length];
        if (scores.Length == 0)
        {
            return order;
        }
        long min = scores[0], max = scores[0];
        foreach (var s in scores)
        {
            min = Math.Min(min, s);
            max = Math.Max(max, s);
        }
        var range = (Int128)max - min + 1;
        if (range <= Math.Max(1024, 4L * scores.Length))
        {
            var starts = new int[(int)range + 1];
            foreach (var s in scores)
            {
                starts[s - min + 1]++;
            }
            for (var b = 1; b < starts.Length; b++)
            {
                starts[b] += starts[b - 1];
            }
            for (var i = 0; i < scores.Length; i++)
            {
                order[starts[scores[i] - min]++] = i;
            }
            return order;
        }
        var keys = new (long Score, int Index)[scores.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = (scores[i], i);
        }
        Array.Sort(keys);
        for (var i = 0; i < keys.Length; i++)
        {
            order[i] = keys[i].Index;
        }
        return order;
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
