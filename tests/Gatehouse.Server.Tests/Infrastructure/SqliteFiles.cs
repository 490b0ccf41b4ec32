namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>The bytes of a test server's SQLite files, for tests that search the stored data for secrets.</summary>
public static class SqliteFiles
{
    /// <summary>
    /// Every <c>gatehouse.db*</c> file of <paramref name="dataDir"/>. SQLite deletes the WAL when its
    /// last pooled connection closes (after a checkpoint into the main file), so a file that vanishes
    /// between listing and reading makes the whole set be read again.
    /// </summary>
    public static async Task<IReadOnlyList<(string File, byte[] Bytes)>> ReadAllAsync(string dataDir)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var files = new List<(string, byte[])>();
                foreach (var file in Directory.GetFiles(dataDir, "gatehouse.db*"))
                {
                    await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    using var memory = new MemoryStream();
                    await stream.CopyToAsync(memory);
                    files.Add((file, memory.ToArray()));
                }

                return files;
            }
            catch (FileNotFoundException) when (attempt < 5)
            {
            }
        }
    }
}
