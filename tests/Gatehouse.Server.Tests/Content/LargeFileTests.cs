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
    private const long Size = 200L * 1024 * 1024;

    [Fact]
    public async Task A_200_MiB_file_round_trips_byte_identical_with_flat_memory()
    {
        if (TestDatabase.PostgresRequested)
        {
            Assert.Skip("Streaming does not touch the database: this runs once, on SQLite.");
        }

        var cancellation = TestContext.Current.CancellationToken;
        var dataDir = Directory.CreateTempSubdirectory("gatehouse-large-file-");
        try
        {
            await using var server = ServerProcess.Start(new Dictionary<string, string?>
            {
                ["GATEHOUSE_ROOT_KEY"] = GatehouseServer.RootKey,
                ["GATEHOUSE_DATA_DIR"] = dataDir.FullName,
            });
            (await server.WaitHealthyAsync(TimeSpan.FromSeconds(90))).ShouldBeTrue(server.StandardError);
            var root = server.Root();
            var org = await root.PostAsync("/api/v1/orgs", new { name = "Large files" });
            org.StatusCode.ShouldBe(201, org.Text);
            var file = await root.ShareAsync(org.Str("id"), new { name = "large", allowDownload = true }, [1]);
            using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
            var before = ResidentBytes(server.Id, "VmRSS");

            var source = new PatternStream(Size);
            using var upload = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/orgs/{file.OrgId}/containers/{file.ContainerId}/files?name=large.bin")
            {
                Content = new StreamContent(source, 64 * 1024),
            };
            upload.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            upload.Headers.Authorization = new AuthenticationHeaderValue("Bearer", GatehouseServer.RootKey);
            using var uploaded = await http.SendAsync(upload, cancellation);
            var created = new ApiResponse(uploaded.StatusCode, await uploaded.Content.ReadAsStringAsync(cancellation), uploaded.Headers, uploaded.Content.Headers);
            created.StatusCode.ShouldBe(201, created.Text);
            created.Data.GetProperty("size").GetInt64().ShouldBe(Size);
            var sentHash = source.Hash();
            created.Str("sha256").ShouldBe(Convert.ToHexStringLower(sentHash));

            using var download = await http.GetAsync($"/api/v1/shares/{file.Token}/files/{created.Str("id")}?download=true", HttpCompletionOption.ResponseHeadersRead, cancellation);
            ((int)download.StatusCode).ShouldBe(200);
            download.Content.Headers.ContentLength.ShouldBe(Size);
            await using var body = await download.Content.ReadAsStreamAsync(cancellation);
            var receivedHash = await SHA256.HashDataAsync(body, cancellation);

            receivedHash.ShouldBe(sentHash);
            var peak = ResidentBytes(server.Id, "VmHWM");
            TestContext.Current.SendDiagnosticMessage($"200 MiB round trip: server resident before {before / 1048576} MiB, peak {peak / 1048576} MiB");
            // Buffering the file anywhere (request, encryption, response) would add at least its 200 MiB.
            (peak - before).ShouldBeLessThan(Size * 3 / 4, $"server peak {peak / 1048576} MiB, resident before {before / 1048576} MiB");
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    /// <summary>A figure of /proc/{pid}/status in bytes: VmRSS (resident now) or VmHWM (the resident peak).</summary>
    private static long ResidentBytes(int processId, string field)
    {
        var line = File.ReadLines($"/proc/{processId}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>A read-only stream of <c>i * 31 mod 251</c> bytes that hashes what it hands out.</summary>
    private sealed class PatternStream(long length) : Stream
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
