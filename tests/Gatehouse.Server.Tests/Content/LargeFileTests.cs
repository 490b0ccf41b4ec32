using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Gatehouse.Server.Tests.Content;

/// <summary>
/// A 200 MiB file goes up and comes back byte-identical, streamed both ways: the server holds a
/// couple of 64 KiB segments, never the file, so the server's peak memory stays far below the file's
/// size. The server runs as a process of its own, so its peak (VmHWM) is this file's alone, whatever
/// other tests do at the same time.
/// </summary>
public sealed class LargeFileTests
{
    internal const long Size = 200L * 1024 * 1024;

    [Fact]
    public async Task A_200_MiB_file_round_trips_byte_identical_with_flat_memory()
    {
        // On PostgreSQL too: the file's rows and its open/download counters live in the database, the bytes beside it.
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = Directory.CreateTempSubdirectory("gatehouse-large-file-");
        try
        {
            await using var server = await StartServerAsync(dataDir, database.Url);
            var root = server.Root();
            var org = await root.PostAsync("/api/v1/orgs", new { name = "Large files" });
            org.StatusCode.ShouldBe(201, org.Text);
            var file = await root.ShareAsync(org.Str("id"), new { name = "large", allowDownload = true }, [1]);

            var (before, peak) = await RoundTripAsync(server, $"/api/v1/orgs/{file.OrgId}/containers/{file.ContainerId}/files", fileId => $"/api/v1/shares/{file.Token}/files/{fileId}?download=true");

            TestContext.Current.SendDiagnosticMessage($"200 MiB round trip ({(database.Url is null ? "SQLite" : "PostgreSQL")}): server resident before {before / 1048576} MiB, peak {peak / 1048576} MiB");
            // Buffering the file anywhere (request, encryption, response) would add at least its 200 MiB.
            (peak - before).ShouldBeLessThan(Size * 3 / 4, $"server peak {peak / 1048576} MiB, resident before {before / 1048576} MiB");
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    /// <summary>A server process of its own on <paramref name="dataDir"/> (and the PostgreSQL database at <paramref name="databaseUrl"/>, if any), healthy, with the test root key.</summary>
    internal static async Task<ServerProcess> StartServerAsync(DirectoryInfo dataDir, string? databaseUrl = null)
    {
        var server = ServerProcess.Start(new Dictionary<string, string?>
        {
            ["GATEHOUSE_ROOT_KEY"] = GatehouseServer.RootKey,
            ["GATEHOUSE_DATA_DIR"] = dataDir.FullName,
            ["GATEHOUSE_DATABASE_URL"] = databaseUrl,
        });
        try
        {
            (await server.WaitHealthyAsync(TimeSpan.FromSeconds(90))).ShouldBeTrue(server.StandardError);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Streams <see cref="Size"/> bytes as a raw upload to <paramref name="filesPath"/>, then streams the file back from
    /// <paramref name="downloadPath"/> (given the new file's id) and compares hashes. Returns the server's resident memory
    /// before the upload and its peak.
    /// </summary>
    internal static async Task<(long Before, long Peak)> RoundTripAsync(ServerProcess server, string filesPath, Func<string, string> downloadPath)
    {
        var cancellation = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatehouseServer.RootKey);
        var before = ResidentBytes(server.Id, "VmRSS");

        var source = new PatternStream(Size);
        using var upload = new HttpRequestMessage(HttpMethod.Post, filesPath + "?name=large.bin") { Content = new StreamContent(source, 64 * 1024) };
        upload.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var uploaded = await http.SendAsync(upload, cancellation);
        var created = new ApiResponse(uploaded.StatusCode, await uploaded.Content.ReadAsStringAsync(cancellation), uploaded.Headers, uploaded.Content.Headers);
        created.StatusCode.ShouldBe(201, created.Text);
        created.Data.GetProperty("size").GetInt64().ShouldBe(Size);
        var sentHash = source.Hash();
        created.Str("sha256").ShouldBe(Convert.ToHexStringLower(sentHash));

        using var download = await http.GetAsync(downloadPath(created.Str("id")), HttpCompletionOption.ResponseHeadersRead, cancellation);
        ((int)download.StatusCode).ShouldBe(200);
        download.Content.Headers.ContentLength.ShouldBe(Size);
        await using var body = await download.Content.ReadAsStreamAsync(cancellation);
        (await SHA256.HashDataAsync(body, cancellation)).ShouldBe(sentHash);
        return (before, ResidentBytes(server.Id, "VmHWM"));
    }

    /// <summary>A figure of /proc/{pid}/status in bytes: VmRSS (resident now) or VmHWM (the resident peak).</summary>
    internal static long ResidentBytes(int processId, string field)
    {
        var line = File.ReadLines($"/proc/{processId}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>A read-only stream of <c>i * 31 mod 251</c> bytes that hashes what it hands out.</summary>
    internal sealed class PatternStream(long length) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _position;
        private byte[]? _final;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        /// <summary>The SHA-256 of everything read, once the end was reached (the HTTP stack disposes the stream after sending).</summary>
        public byte[] Hash() => _final ?? throw new InvalidOperationException("The stream was not read to its end.");

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            for (var i = 0; i < n; i++)
            {
                buffer[i] = (byte)((_position + i) * 31 % 251);
            }

            _hash.AppendData(buffer[..n]);
            _position += n;
            if (_position == length && _final is null)
            {
                _final = _hash.GetHashAndReset();
            }

            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
