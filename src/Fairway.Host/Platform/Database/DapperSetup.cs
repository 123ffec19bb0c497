using System.Data;
using System.Runtime.CompilerServices;
using Dapper;

namespace Fairway.Host.Platform.Database;

/// <summary>
/// Npgsql reads timestamptz as a UTC DateTime; Fairway's types use DateTimeOffset. Registered once
/// when the assembly loads, so every repository (and every in-process test) maps the same way.
/// </summary>
static class DapperSetup
{
    [ModuleInitializer]
    internal static void Register()
    {
        SqlMapper.AddTypeHandler(new DateTimeOffsetHandler());
        SqlMapper.AddTypeHandler(new NullableDateTimeOffsetHandler());
    }

    sealed class DateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = value;
        public override DateTimeOffset Parse(object value) => ToOffset(value);
    }

    sealed class NullableDateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset?>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset? value) => parameter.Value = value.HasValue ? value.Value : DBNull.Value;
        public override DateTimeOffset? Parse(object value) => value is null or DBNull ? null : ToOffset(value);
    }

    static DateTimeOffset ToOffset(object value) => value switch
    {
        DateTime dt => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)),
        DateTimeOffset dto => dto,
        _ => throw new DataException($"cannot read {value.GetType().Name} as DateTimeOffset"),
    };
}
