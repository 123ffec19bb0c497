using System.Text;

namespace Fairway.Engine.Settlement;

/// <summary>The canonical result document and its hash.</summary>
public sealed record SettlementDocument(string Json, string OutputHash);

/// <summary>Builds the one serialized form of a settlement. The host's settlement service and the offline replay
/// both call this, so the same result always yields the same bytes and the same output_hash.</summary>
public static class SettlementResultDocument
{
    public const string Format = "fairway.settlement-result/1";

    /// <summary>output_hash = SHA-256 of the canonical JSON of the result object without output_hash;
    /// <see cref="SettlementDocument.Json"/> is the canonical JSON of the object with it.</summary>
    public static SettlementDocument Build(SettlementResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Write(new ListEntries(result.Entries), result.ContestId, result.Gross, result.Rake, result.Net, keepJson: true);
    }

    /// <summary>The same document for a <see cref="RankedSettlement"/>, byte for byte.</summary>
    public static SettlementDocument Build(RankedSettlement result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Write(new RankedEntries(result), result.ContestId, result.Gross, result.Rake, result.Net, keepJson: true);
    }

    /// <summary>Only the output_hash of <see cref="Build(RankedSettlement)"/>: the document is streamed through SHA-256, never held.</summary>
    public static string OutputHash(RankedSettlement result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Write(new RankedEntries(result), result.ContestId, result.Gross, result.Rake, result.Net, keepJson: false).OutputHash;
    }

    private interface IEntries
    {
        int Count { get; }
        void Write(CanonicalUtf8Writer w, int position);
    }

    // Keys of an entry in ordinal order: id, prize, rank, score, user_id.
    private static void WriteEntry(CanonicalUtf8Writer w, string id, long prize, int rank, long score, string userId)
    {
        w.Raw("{\"id\":"u8);
        w.String(id);
        w.Raw(",\"prize\":"u8);
        w.Integer(prize);
        w.Raw(",\"rank\":"u8);
        w.Integer(rank);
        w.Raw(",\"score\":"u8);
        w.Integer(score);
        w.Raw(",\"user_id\":"u8);
        w.String(userId);
        w.Raw("}"u8);
    }

    private readonly struct ListEntries(IReadOnlyList<SettledEntry> entries) : IEntries
    {
        public int Count => entries.Count;

        public void Write(CanonicalUtf8Writer w, int position)
        {
            var e = entries[position];
            WriteEntry(w, e.Id, e.Prize, e.Rank, e.Score, e.UserId);
        }
    }

    private readonly struct RankedEntries(RankedSettlement r) : IEntries
    {
        public int Count => r.Count;

        public void Write(CanonicalUtf8Writer w, int position) =>
            WriteEntry(w, r.IdAt(position), r.PrizeAt(position), r.RankAt(position), r.ScoreAt(position), r.UserIdAt(position));
    }

    /// <summary>
    /// Keys in ordinal order: contest_id, entries, format, gross, net, [output_hash,] rake. Everything up to net is the same
    /// in the hashed object and in the full document, so it is written once: hashed, and kept when the JSON is wanted.
    /// </summary>
    private static SettlementDocument Write<TEntries>(TEntries entries, string contestId, long gross, long rake, long net, bool keepJson)
        where TEntries : IEntries
    {
        using var w = new CanonicalUtf8Writer(keepJson);
        w.Raw("{\"contest_id\":"u8);
        w.String(contestId);
        w.Raw(",\"entries\":["u8);
        for (var p = 0; p < entries.Count; p++)
        {
            if (p > 0)
            {
                w.Raw(","u8);
            }
            entries.Write(w, p);
        }
        w.Raw("],\"format\":"u8);
        w.String(Format);
        w.Raw(",\"gross\":"u8);
        w.Integer(gross);
        w.Raw(",\"net\":"u8);
        w.Integer(net);
        var prefix = keepJson ? w.ToArray() : null;
        w.Raw(",\"rake\":"u8);
        w.Integer(rake);
        w.Raw("}"u8);
        var hash = w.HashHex();
        if (prefix is null)
        {
            return new SettlementDocument("", hash);
        }
        var json = new StringBuilder(prefix.Length + 120)
            .Append(Encoding.UTF8.GetString(prefix))
            .Append(",\"output_hash\":\"").Append(hash).Append("\",\"rake\":")
            .Append(rake.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('}');
        return new SettlementDocument(json.ToString(), hash);
    }
}
