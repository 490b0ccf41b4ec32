using Gatehouse.Server.Platform.Http;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// How database failures reach a client: a transaction PostgreSQL rolled back because of a
/// concurrent one (deadlock victim, serialization failure) is a race and answers 409, so the
/// client retries; it is not an outage (503) and never a 500.
/// </summary>
public sealed class DatabaseErrorMappingTests
{
    [Theory]
    [InlineData(PostgresErrorCodes.DeadlockDetected)]
    [InlineData(PostgresErrorCodes.SerializationFailure)]
    public void A_transaction_rolled_back_for_a_concurrent_one_is_a_conflict(string sqlState)
    {
        var postgres = new PostgresException("rolled back", "ERROR", "ERROR", sqlState);

        ApiPipeline.IsConcurrentChange(postgres).ShouldNotBeNull().Code.ShouldBe("CONFLICT");
        ApiPipeline.IsConcurrentChange(new DbUpdateException("save failed", postgres)).ShouldNotBeNull().Code.ShouldBe("CONFLICT");
        ApiPipeline.IsConcurrentChange(new InvalidOperationException("wrapped", postgres)).ShouldNotBeNull().Code.ShouldBe("CONFLICT");
    }

    [Fact]
    public void A_lock_timeout_is_a_conflict_not_an_outage()
    {
        var postgres = new PostgresException("canceling statement due to lock timeout", "ERROR", "ERROR", PostgresErrorCodes.LockNotAvailable);

        ApiPipeline.IsConcurrentChange(new DbUpdateException("save failed", postgres)).ShouldNotBeNull().Code.ShouldBe("CONFLICT");
    }

    [Fact]
    public void Other_database_errors_are_not_taken_for_races()
    {
        ApiPipeline.IsConcurrentChange(new PostgresException("gone", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown)).ShouldBeNull();
        ApiPipeline.IsConcurrentChange(new PostgresException("bad", "ERROR", "ERROR", PostgresErrorCodes.SyntaxError)).ShouldBeNull();
    }
}
