using System.Text.Json.Nodes;
using Fairway.Engine.Config;
using Fairway.Engine.Contests;
using Fairway.Engine.Fields;
using static Fairway.Engine.Tests.TestJson;

namespace Fairway.Engine.Tests;

public class FieldSelectionTests
{
    private static ContestConfig Config(int fieldSize, int alternates)
    {
        var c = ValidConfig();
        c["field_size"] = fieldSize;
        c["alternates_count"] = alternates;
        c["rules"]!["roster_size"] = 1;
        return ContestConfigValidator.Validate(c.ToJsonString()).Value;
    }

    private static readonly FieldCandidate[] Candidates =
    {
        new("p-5", 5, "Five"),
        new("p-x", null, "Unranked X"),
        new("p-1", 1, "One"),
        new("p-b", null, "Unranked B"),
        new("p-3b", 3, "Three B"),
        new("p-3a", 3, "Three A"),
    };

    [Fact]
    public void Orders_by_ranking_then_id_with_unranked_last()
    {
        var s = FieldSelector.Select(Config(4, 2), Candidates).Value;
        Assert.Equal(new[] { "p-1", "p-3a", "p-3b", "p-5" }, s.Primary.Select(c => c.ProviderPlayerId));
        Assert.Equal(new[] { "p-b", "p-x" }, s.Alternates.Select(c => c.ProviderPlayerId));
    }

    [Fact]
    public void Is_order_independent_and_does_not_mutate_input()
    {
        var config = Config(3, 5);
        var expected = FieldSelector.Select(config, Candidates).Value;
        foreach (var seed in Enumerable.Range(0, 20))
        {
            var array = Candidates.ToArray();
            new Random(seed).Shuffle(array);
            var shuffled = array.ToList();
            var snapshot = shuffled.ToArray();
            var actual = FieldSelector.Select(config, shuffled).Value;
            Assert.Equal(expected.Primary, actual.Primary);
            Assert.Equal(expected.Alternates, actual.Alternates);
            Assert.Equal(snapshot, shuffled);
        }
    }

    [Fact]
    public void Over_capacity_is_rejected_not_trimmed() =>
        AssertOnlyError(FieldSelector.Select(Config(3, 2), Candidates).Errors, "participants", "FIELD_OVER_CAPACITY");

    [Fact]
    public void Exactly_at_capacity_is_accepted() =>
        Assert.True(FieldSelector.Select(Config(3, 3), Candidates).IsSuccess);

    [Fact]
    public void Duplicates_are_rejected()
    {
        var input = Candidates.Append(new FieldCandidate("p-1", 9, "Dup")).Append(new FieldCandidate("p-x", null, "Dup")).ToArray();
        var errors = FieldSelector.Select(Config(10, 0), input).Errors;
        AssertHasError(errors, "participants[6].provider_player_id", "DUPLICATE_CANDIDATE");
        AssertHasError(errors, "participants[7].provider_player_id", "DUPLICATE_CANDIDATE");
        Assert.Equal(2, errors.Count);
    }

    [Fact]
    public void Empty_id_is_rejected() =>
        AssertOnlyError(FieldSelector.Select(Config(10, 0), new[] { new FieldCandidate("", 1, "x") }).Errors,
            "participants[0].provider_player_id", "EMPTY_STRING");
}

public class RosterTests
{
    private static readonly string[] Field = { "a", "b", "c", "d", "e" };

    [Fact]
    public void Valid_roster_passes_sorted()
    {
        var roster = ContestRulesValidator.ValidateRoster(new[] { "c", "a", "e" }, 3, Field).Value;
        Assert.Equal(new[] { "a", "c", "e" }, roster.GolferIds);
    }

    [Fact]
    public void Wrong_size_is_rejected()
    {
        AssertOnlyError(ContestRulesValidator.ValidateRoster(new[] { "a", "b" }, 3, Field).Errors, "golfers", "ROSTER_WRONG_SIZE");
        AssertOnlyError(ContestRulesValidator.ValidateRoster(new[] { "a", "b", "c", "d" }, 3, Field).Errors, "golfers", "ROSTER_WRONG_SIZE");
    }

    [Fact]
    public void Every_duplicate_is_listed()
    {
        var errors = ContestRulesValidator.ValidateRoster(new[] { "a", "b", "a", "b", "a", "c" }, 6, Field).Errors;
        Assert.Equal(2, errors.Count);
        AssertHasError(errors, "golfers[2]", "ROSTER_DUPLICATE_GOLFER");
        AssertHasError(errors, "golfers[3]", "ROSTER_DUPLICATE_GOLFER");
    }

    [Fact]
    public void Each_golfer_not_in_field_is_listed_with_all_other_violations()
    {
        var errors = ContestRulesValidator.ValidateRoster(new[] { "a", "zz", "a", "yy" }, 3, Field).Errors;
        AssertHasError(errors, "golfers", "ROSTER_WRONG_SIZE");
        AssertHasError(errors, "golfers[1]", "ROSTER_GOLFER_NOT_IN_FIELD");
        AssertHasError(errors, "golfers[3]", "ROSTER_GOLFER_NOT_IN_FIELD");
        AssertHasError(errors, "golfers[2]", "ROSTER_DUPLICATE_GOLFER");
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void Field_membership_is_ordinal_even_with_a_case_insensitive_set()
    {
        var field = new HashSet<string>(Field, StringComparer.OrdinalIgnoreCase);
        AssertOnlyError(ContestRulesValidator.ValidateRoster(new[] { "A" }, 1, field).Errors, "golfers[0]", "ROSTER_GOLFER_NOT_IN_FIELD");
    }

    [Fact]
    public void Roster_rules_live_apart_from_golf_scoring() =>
        Assert.Equal("Fairway.Engine.Contests", typeof(ContestRulesValidator).Namespace);
}
