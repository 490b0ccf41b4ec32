using System.Buffers;

namespace Gatehouse.Server.Features.Content;

/// <summary>
/// A write-only stream that collects what is written into one pooled buffer of <c>chunkSize</c> bytes
/// and hands each full chunk to <see cref="SendChunkAsync"/>: an upload of any size holds one chunk in
/// memory. The remote stores' block and multipart uploads derive from it; they decide what the last,
/// partial chunk becomes when the upload completes.
/// </summary>
internal abstract class ChunkedUploadStream(int chunkSize) : Stream
{
    private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(chunkSize);

    /// <summary>How many bytes of the buffer hold data not yet sent.</summary>
    protected int Filled { get; private set; }

    /// <summary>The bytes written since the last chunk was sent, readable without a copy (until the next write).</summary>
    protected MemoryStream OpenPending() => new(_buffer, 0, Filled, writable: false);

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        while (source.Length > 0)
        {
            var take = Math.Min(source.Length, chunkSize - Filled);
            source[..take].CopyTo(_buffer.AsMemory(Filled));
            Filled += take;
            source = source[take..];
            if (Filled == chunkSize)
            {
                await SendPendingAsync();
            }
        }
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        await base.DisposeAsync();
    }

    /// <summary>Sends what the buffer holds as one chunk (also a partial one, at the end) and empties it.</summary>
    protected async Task SendPendingAsync()
    {
        using var body = OpenPending();
        await SendChunkAsync(body, Filled);
        Filled = 0;
    }

    /// <summary>Sends one chunk: <paramref name="length"/> bytes readable from <paramref name="body"/>.</summary>
    protected abstract Task SendChunkAsync(Stream body, int length);
}
