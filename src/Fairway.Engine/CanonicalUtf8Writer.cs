using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Fairway.Engine;

/// <summary>
/// Writes canonical JSON (the <see cref="CanonicalJson"/> policy, byte for byte) as UTF-8, piece by piece, into a
/// SHA-256 as it goes — and, when asked, also keeps the bytes. A document of a million entries is hashed through a
/// fixed 64 KiB buffer instead of being built as one string first. The caller writes the structure (keys in ordinal
/// order, commas); the writer escapes strings and formats integers exactly as <see cref="CanonicalJson"/> does.
/// </summary>
internal sealed class CanonicalUtf8Writer : IDisposable
{
    private const int Capacity = 1 << 16;

    /// <summary>Characters written as themselves: printable ASCII except the quote and the backslash.</summary>
    private static readonly SearchValues<char> PlainAscii = SearchValues.Create(
        " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[Capacity];
    private readonly ArrayBufferWriter<byte>? _kept;
    private int _used;

    public CanonicalUtf8Writer(bool keepBytes = false) => _kept = keepBytes ? new ArrayBufferWriter<byte>() : null;

    /// <summary>Bytes that need no escaping: structure (<c>{"id":</c>, commas) or pre-encoded canonical strings.</summary>
    public void Raw(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > Capacity - _used)
        {
            Flush();
            if (bytes.Length > Capacity)
            {
                Emit(bytes);
                return;
            }
        }
        bytes.CopyTo(_buffer.AsSpan(_used));
        _used += bytes.Length;
    }

    public void Integer(long value)
    {
        Ensure(20);
        Utf8Formatter.TryFormat(value, _buffer.AsSpan(_used), out var written);
        _used += written;
    }

    /// <summary>A JSON string with the canonical escaping: <c>\" \\ \b \f \n \r \t</c>, <c>\u00xx</c> for other control
    /// characters and <c>\uxxxx</c> for unpaired surrogates (lowercase hex), everything else literally as UTF-8.</summary>
    public void String(string s)
    {
        // Ids are plain ASCII almost always: one vectorised scan, then a straight copy.
        if (s.Length + 2 <= Capacity && s.AsSpan().IndexOfAnyExcept(PlainAscii) < 0)
        {
            Ensure(s.Length + 2);
            _buffer[_used++] = (byte)'"';
            _used += System.Text.Encoding.ASCII.GetBytes(s, _buffer.AsSpan(_used));
            _buffer[_used++] = (byte)'"';
            return;
        }
        // Worst case 6 bytes per UTF-16 unit (\uxxxx); short strings (ids) take the one-check path.
        if ((long)s.Length * 6 + 2 <= Capacity)
        {
            Ensure(s.Length * 6 + 2);
        }
        Byte((byte)'"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c < 0x80)
            {
                if (c >= 0x20 && c != '"' && c != '\\')
                {
                    Byte((byte)c);
                    continue;
                }
                switch (c)
                {
                    case '"': Two('\\', '"'); continue;
                    case '\\': Two('\\', '\\'); continue;
                    case '\b': Two('\\', 'b'); continue;
                    case '\f': Two('\\', 'f'); continue;
                    case '\n': Two('\\', 'n'); continue;
                    case '\r': Two('\\', 'r'); continue;
                    case '\t': Two('\\', 't'); continue;
                }
                UnicodeEscape(c);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                var cp = char.ConvertToUtf32(c, s[++i]);
                Byte((byte)(0xF0 | (cp >> 18)));
                Byte((byte)(0x80 | ((cp >> 12) & 0x3F)));
                Byte((byte)(0x80 | ((cp >> 6) & 0x3F)));
                Byte((byte)(0x80 | (cp & 0x3F)));
            }
            else if (char.IsSurrogate(c))
            {
                UnicodeEscape(c);
            }
            else if (c < 0x800)
            {
                Byte((byte)(0xC0 | (c >> 6)));
                Byte((byte)(0x80 | (c & 0x3F)));
            }
            else
            {
                Byte((byte)(0xE0 | (c >> 12)));
                Byte((byte)(0x80 | ((c >> 6) & 0x3F)));
                Byte((byte)(0x80 | (c & 0x3F)));
            }
        }
        Byte((byte)'"');
    }

    /// <summary>The canonical bytes of one string, for callers that write the same string many times (golfer ids).</summary>
    public static byte[] EncodeString(string s)
    {
        using var w = new CanonicalUtf8Writer(keepBytes: true);
        w.String(s);
        return w.ToArray();
    }

    /// <summary>Lowercase hex SHA-256 of everything written so far; the writer is then spent.</summary>
    public string HashHex()
    {
        Flush();
        return Convert.ToHexStringLower(_sha.GetHashAndReset());
    }

    /// <summary>Everything written so far (only when constructed with <c>keepBytes</c>).</summary>
    public byte[] ToArray()
    {
        Flush();
        return _kept?.WrittenSpan.ToArray() ?? throw new InvalidOperationException("This writer does not keep its bytes.");
    }

    public void Dispose()
    {
        _sha.Dispose();
    }

    private void Byte(byte b)
    {
        if (_used == Capacity)
        {
            Flush();
        }
        _buffer[_used++] = b;
    }

    private void Two(char a, char b)
    {
        Byte((byte)a);
        Byte((byte)b);
    }

    private void UnicodeEscape(char c)
    {
        Two('\\', 'u');
        const string hex = "0123456789abcdef";
        Byte((byte)hex[(c >> 12) & 0xF]);
        Byte((byte)hex[(c >> 8) & 0xF]);
        Byte((byte)hex[(c >> 4) & 0xF]);
        Byte((byte)hex[c & 0xF]);
    }

    private void Ensure(int bytes)
    {
        if (bytes > Capacity - _used)
        {
            Flush();
        }
    }

    private void Flush()
    {
        if (_used == 0)
        {
            return;
        }
        Emit(_buffer.AsSpan(0, _used));
        _used = 0;
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        _sha.AppendData(bytes);
        _kept?.Write(bytes);
    }
}
