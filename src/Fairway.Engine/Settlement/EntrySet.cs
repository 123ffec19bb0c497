namespace Fairway.Engine.Settlement;

/// <summary>
/// A contest's entries in the compact form settlement and live standings work on at scale: sorted by id (ordinal),
/// each roster a run of indices into one table of distinct golfer ids (a field has ~156 golfers, a contest up to
/// millions of entries), and the entry-set hash. Immutable once built (<see cref="EntrySetBuilder"/>,
/// <see cref="From"/>).
/// <para>
/// <see cref="Hash"/> is the entry-set hash: SHA-256 of the canonical JSON of
/// <c>[{"golfers":[…],"id":…,"user_id":…}, …]</c> sorted by id (ordinal), rosters in their stored order.
/// </para>
/// </summary>
public sealed class EntrySet
{
    private readonly string[] _ids;
    private readonly string[] _userIds;
    private readonly int[] _rosterStarts; // Count + 1 offsets into _rosterGolfers
    private readonly int[] _rosterGolfers;
    private readonly string[] _golfers;
    private readonly string[] _golferJson;

    internal EntrySet(string[] ids, string[] userIds, int[] rosterStarts, int[] rosterGolfers, string[] golfers, string hash)
    {
        _ids = ids;
        _userIds = userIds;
        _rosterStarts = rosterStarts;
        _rosterGolfers = rosterGolfers;
        _golfers = golfers;
        _golferJson = Array.ConvertAll(golfers, g => CanonicalJson.Serialize((object)g));
        Hash = hash;
    }

    public int Count => _ids.Length;

    /// <summary>The roster size this set was last found valid for (settlement validation is a pure function of the set and
    /// the roster size, and the set is immutable, so it runs once per set, not once per leaderboard event); 0 = not yet.</summary>
    internal int ValidRosterSize { get; set; }

    /// <summary>The entry-set hash (see the type's summary).</summary>
    public string Hash { get; }

    /// <summary>The distinct golfer ids the rosters name, in first-seen order; rosters index into it.</summary>
    public IReadOnlyList<string> Golfers => _golfers;

    /// <summary>Entry ids in ascending ordinal order; <paramref name="index"/> is the position in that order.</summary>
    public string IdAt(int index) => _ids[index];

    public string UserIdAt(int index) => _userIds[index];

    /// <summary>The roster of an entry as indices into <see cref="Golfers"/>, in stored order.</summary>
    public ReadOnlySpan<int> RosterAt(int index) => _rosterGolfers.AsSpan(_rosterStarts[index], _rosterStarts[index + 1] - _rosterStarts[index]);

    public IReadOnlyList<string> GolfersAt(int index)
    {
        var roster = RosterAt(index);
        var ids = new string[roster.Length];
        for (var k = 0; k < roster.Length; k++)
        {
            ids[k] = _golfers[roster[k]];
        }
        return ids;
    }

    public SettlementEntry EntryAt(int index) => new(_ids[index], _userIds[index], GolfersAt(index));

    /// <summary>The roster as a JSON array of strings (canonical JSON), e.g. for storing it next to a result.</summary>
    public string RosterJson(int index)
    {
        var json = new char[RosterJsonLength(index)];
        WriteRosterJson(index, json);
        return new string(json);
    }

    /// <summary>The length of <see cref="RosterJson"/> in UTF-16 units.</summary>
    public int RosterJsonLength(int index)
    {
        var roster = RosterAt(index);
        var length = 2 + Math.Max(0, roster.Length - 1);
        foreach (var g in roster)
        {
            length += _golferJson[g].Length;
        }
        return length;
    }

    /// <summary><see cref="RosterJson"/> written into <paramref name="destination"/> (at least <see cref="RosterJsonLength"/> long),
    /// without allocating; returns the length written.</summary>
    public int WriteRosterJson(int index, Span<char> destination)
    {
        var roster = RosterAt(index);
        var at = 0;
        destination[at++] = '[';
        for (var k = 0; k < roster.Length; k++)
        {
            if (k > 0)
            {
                destination[at++] = ',';
            }
            _golferJson[roster[k]].CopyTo(destination[at..]);
            at += _golferJson[roster[k]].Length;
        }
        destination[at++] = ']';
        return at;
    }

    /// <summary>Every entry as a <see cref="SettlementEntry"/> (id order). Materialises the whole set: for small sets and error paths.</summary>
    public IReadOnlyList<SettlementEntry> ToEntries()
    {
        var list = new SettlementEntry[Count];
        for (var i = 0; i < list.Length; i++)
        {
            list[i] = EntryAt(i);
        }
        return list;
    }

    /// <summary>The compact set of any list of entries (in any order). Null entries or rosters are not representable: validate first.</summary>
    public static EntrySet From(IEnumerable<SettlementEntry> entries) => From(entries, hash: true);

    /// <summary>Without <paramref name="hash"/> the set's <see cref="Hash"/> is empty (for computations that never report it).</summary>
    internal static EntrySet From(IEnumerable<SettlementEntry> entries, bool hash)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var builder = new EntrySetBuilder(0, hash);
        foreach (var e in entries)
        {
            builder.Add(e.Id, e.UserId, e.Golfers);
        }
        return builder.Build();
    }
}

/// <summary>
/// Builds an <see cref="EntrySet"/> from entries streamed one at a time (e.g. rows of a database cursor). When they
/// arrive in ascending ordinal id order — what <c>ORDER BY id COLLATE "C"</c> gives for ids without characters above
/// U+FFFF — the entry-set hash is computed while they arrive; otherwise they are sorted (stably) and hashed at
/// <see cref="Build"/>. Golfer ids are interned, so a million rosters of six hold six small integers each.
/// </summary>
public sealed class EntrySetBuilder : IDisposable
{
    private static ReadOnlySpan<byte> GolfersOpen => "{\"golfers\":["u8;
    private static ReadOnlySpan<byte> IdKey => "],\"id\":"u8;
    private static ReadOnlySpan<byte> UserIdKey => ",\"user_id\":"u8;

    private readonly List<string> _ids;
    private readonly List<string> _userIds;
    private readonly List<int> _rosterStarts;
    private readonly List<int> _rosterGolfers;
    private readonly List<string> _golfers = new();
    private readonly List<byte[]> _golferJson = new();
    private readonly Dictionary<string, int> _golferIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _golferLookup;
    private readonly bool _hashed;
    private CanonicalUtf8Writer? _hash;
    private bool _built;

    public EntrySetBuilder(int capacity = 0) : this(capacity, hash: true)
    {
    }

    internal EntrySetBuilder(int capacity, bool hash)
    {
        _hashed = hash;
        _hash = hash ? new CanonicalUtf8Writer() : null;
        _ids = new List<string>(capacity);
        _userIds = new List<string>(capacity);
        _rosterStarts = new List<int>(capacity + 1) { 0 };
        _rosterGolfers = new List<int>(capacity * 6);
        _golferLookup = _golferIndex.GetAlternateLookup<ReadOnlySpan<char>>();
        _hash?.Raw("["u8);
    }

    public int Count => _ids.Count;

    /// <summary>The index of a golfer id in the set's golfer table (added when new), without allocating for a known id.</summary>
    public int GolferIndex(ReadOnlySpan<char> golferId) =>
        _golferLookup.TryGetValue(golferId, out var index) ? index : AddGolfer(golferId.ToString());

    public int GolferIndex(string golferId) =>
        _golferIndex.TryGetValue(golferId, out var index) ? index : AddGolfer(golferId);

    public void Add(string id, string userId, IReadOnlyList<string> golfers)
    {
        ArgumentNullException.ThrowIfNull(golfers);
        Span<int> roster = golfers.Count <= 64 ? stackalloc int[golfers.Count] : new int[golfers.Count];
        for (var k = 0; k < roster.Length; k++)
        {
            roster[k] = GolferIndex(golfers[k] ?? throw new ArgumentException($"entry {id}: golfer {k} is null", nameof(golfers)));
        }
        Add(id, userId, roster);
    }

    /// <summary>Adds an entry whose roster is given as indices from <see cref="GolferIndex(ReadOnlySpan{char})"/>.</summary>
    public void Add(string id, string userId, ReadOnlySpan<int> roster)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(userId);
        if (_built)
        {
            throw new InvalidOperationException("The entry set is built already.");
        }
        foreach (var g in roster)
        {
            if ((uint)g >= (uint)_golfers.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(roster), $"entry {id}: golfer index {g} is not in the golfer table");
            }
        }
        // Strictly ascending ids are hashed now; the first id out of order (or repeated) defers hashing to Build.
        if (_hash is not null && _ids.Count > 0 && string.CompareOrdinal(_ids[^1], id) >= 0)
        {
            _hash.Dispose();
            _hash = null;
        }
        var index = _ids.Count;
        _ids.Add(id);
        _userIds.Add(userId);
        foreach (var g in roster)
        {
            _rosterGolfers.Add(g);
        }
        _rosterStarts.Add(_rosterGolfers.Count);
        if (_hash is not null)
        {
            WriteEntry(_hash, index, roster, index > 0);
        }
    }

    public EntrySet Build()
    {
        if (_built)
        {
            throw new InvalidOperationException("The entry set is built already.");
        }
        _built = true;
        string[] ids, userIds;
        int[] starts, golfers;
        string hash;
        if (!_hashed || _hash is not null)
        {
            if (!_hashed && !InOrder())
            {
                (ids, userIds, starts, golfers) = Sorted();
                return new EntrySet(ids, userIds, starts, golfers, _golfers.ToArray(), "");
            }
            _hash?.Raw("]"u8);
            hash = _hash?.HashHex() ?? "";
            ids = _ids.ToArray();
            userIds = _userIds.ToArray();
            starts = _rosterStarts.ToArray();
            golfers = _rosterGolfers.ToArray();
        }
        else
        {
            (ids, userIds, starts, golfers) = Sorted();
            using var w = new CanonicalUtf8Writer();
            w.Raw("["u8);
            for (var i = 0; i < ids.Length; i++)
            {
                WriteEntry(w, ids[i], userIds[i], golfers.AsSpan(starts[i], starts[i + 1] - starts[i]), i > 0);
            }
            w.Raw("]"u8);
            hash = w.HashHex();
        }
        return new EntrySet(ids, userIds, starts, golfers, _golfers.ToArray(), hash);
    }

    public void Dispose() => _hash?.Dispose();

    private bool InOrder()
    {
        for (var i = 1; i < _ids.Count; i++)
        {
            if (string.CompareOrdinal(_ids[i - 1], _ids[i]) >= 0)
            {
                return false;
            }
        }
        return true;
    }

    private int AddGolfer(string golferId)
    {
        var index = _golfers.Count;
        _golfers.Add(golferId);
        _golferJson.Add(CanonicalUtf8Writer.EncodeString(golferId));
        _golferIndex.Add(golferId, index);
        return index;
    }

    private void WriteEntry(CanonicalUtf8Writer w, int index, ReadOnlySpan<int> roster, bool comma) =>
        WriteEntry(w, _ids[index], _userIds[index], roster, comma);

    // {"golfers":[...],"id":"...","user_id":"..."}: keys in ordinal order, as CanonicalJson writes the object.
    private void WriteEntry(CanonicalUtf8Writer w, string id, string userId, ReadOnlySpan<int> roster, bool comma)
    {
        if (comma)
        {
            w.Raw(","u8);
        }
        w.Raw(GolfersOpen);
        for (var k = 0; k < roster.Length; k++)
        {
            if (k > 0)
            {
                w.Raw(","u8);
            }
            w.Raw(_golferJson[roster[k]]);
        }
        w.Raw(IdKey);
        w.String(id);
        w.Raw(UserIdKey);
        w.String(userId);
        w.Raw("}"u8);
    }

    // Stable: equal ids keep their arrival order (the entry-set hash of a list sorts with a stable OrderBy too).
    private (string[] Ids, string[] UserIds, int[] Starts, int[] Golfers) Sorted()
    {
        var keys = _ids.ToArray();
        var order = new int[keys.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        Array.Sort(keys, order, StringComparer.Ordinal);
        for (var run = 0; run < keys.Length;)
        {
            var end = run + 1;
            while (end < keys.Length && string.Equals(keys[end], keys[run], StringComparison.Ordinal))
            {
                end++;
            }
            if (end - run > 1)
            {
                Array.Sort(order, run, end - run);
            }
            run = end;
        }
        var ids = new string[order.Length];
        var userIds = new string[order.Length];
        var starts = new int[order.Length + 1];
        var golfers = new int[_rosterGolfers.Count];
        var at = 0;
        for (var i = 0; i < order.Length; i++)
        {
            var from = order[i];
            ids[i] = _ids[from];
            userIds[i] = _userIds[from];
            for (var k = _rosterStarts[from]; k < _rosterStarts[from + 1]; k++)
            {
                golfers[at++] = _rosterGolfers[k];
            }
            starts[i + 1] = at;
        }
        return (ids, userIds, starts, golfers);
    }
}
