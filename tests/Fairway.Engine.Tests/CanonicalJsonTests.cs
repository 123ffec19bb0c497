namespace Fairway.Engine.Tests;

public class CanonicalJsonTests
{
    private static string Canon(string json) => CanonicalJson.Canonicalize(json).Value;

    [Fact]
    public void Keys_are_sorted_by_utf16_code_units_and_whitespace_removed() =>
        Assert.Equal("{\"A\":1,\"a\":[3,1,{\"x\":null,\"y\":true}],\"b\":false,\"é\":\"\"}",
            Canon("{ \"é\": \"\", \"b\": false, \"a\": [3, 1, {\"y\": true, \"x\": null}], \"A\": 1 }"));

    [Fact]
    public void Supplementary_characters_sort_by_utf16_not_code_point()
    {
        // U+1F600 is encoded as D83D DE00, which sorts before U+FF5E in UTF-16 although its code point is larger.
        Assert.Equal("{\"😀\":1,\"～\":2}", Canon("{\"～\":2,\"😀\":1}"));
    }

    [Fact]
    public void Strings_use_the_fixed_escaping_policy()
    {
        Assert.Equal("\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f<>&é😀\\ud800\"",
            Canon("\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u0001\\u001F\\u003c>&\\u00e9\\ud83d\\ude00\\uD800\""));
    }

    [Fact]
    public void Integers_are_plain_and_non_integers_in_ignored_fields_keep_their_raw_text()
    {
        Assert.Equal("[0,-5,12345678901234567890123,70.0,1.5e3,123.45]", Canon("[-0, -5, 12345678901234567890123, 70.0, 1.5e3, 123.45]"));
    }

    [Fact]
    public void Identical_input_gives_identical_bytes_and_hash()
    {
        const string json = "{\"b\":[1,2],\"a\":{\"d\":\"x\",\"c\":1}}";
        Assert.Equal(Canon(json), Canon(json));
        Assert.Equal(Canon(json), Canon(Canon(json)));
        Assert.Equal(CanonicalJson.Sha256Hex(Canon(json)), CanonicalJson.Sha256Hex(Canon("{\"a\":{\"c\":1,\"d\":\"x\"},\"b\":[1,2]}")));
    }

    [Fact]
    public void Sha256_is_lowercase_hex_of_utf8() =>
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", CanonicalJson.Sha256Hex("abc"));

    [Fact]
    public void Invalid_json_is_an_error() =>
        TestJson.AssertOnlyError(CanonicalJson.Canonicalize("{\"a\":").Errors, "$", "INVALID_JSON");
}
