using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Azure.Storage;
using Azure.Storage.Blobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Server.Tests.Content;

/// <summary>
/// A Gatehouse server and three object stores on loopback for the remote storage providers: the
/// npm emulators s3rver (S3 API) and azurite (Azure Blob API) from tests/storage-emulators, and a
/// small Kestrel PUT/GET/DELETE endpoint for the <c>custom</c> provider. Each store can be read and
/// written behind the server's back (<see cref="ReadObjectAsync"/>, <see cref="WriteObjectAsync"/>)
/// to check what is stored and to tamper with it. When node or the emulators' node_modules are
/// missing, <see cref="SkipReason"/> says so and the emulator tests skip.
/// </summary>
public sealed class StorageEmulatorsFixture : IAsyncLifetime
{
    public const string S3Bucket = "gatehouse";
    public const string S3AccessKey = "S3RVER";
    public const string S3SecretKey = "S3RVER";
    public const string AzureAccount = "devstoreaccount1";
    public const string AzureKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    public const string AzureContainer = "gatehouse";
    public const string CustomHeader = "X-Store-Key";
    public const string CustomSecret = "custom-store-secret-0123456789";

    private readonly List<Process> _processes = [];
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"gatehouse-stores-{Guid.NewGuid():N}");
    private GatehouseServer? _server;
    private WebApplication? _custom;
    private AmazonS3Client? _s3;
    private BlobContainerClient? _azure;

    public GatehouseServer Server => _server ?? throw new InvalidOperationException("The fixture did not start.");
    public string? SkipReason { get; private set; }
    public string S3Endpoint { get; private set; } = "";
    public string AzureEndpoint { get; private set; } = "";
    public string CustomEndpoint { get; private set; } = "";

    /// <summary>The custom endpoint's objects, by key.</summary>
    public ConcurrentDictionary<string, byte[]> CustomObjects { get; } = new(StringComparer.Ordinal);

    public async ValueTask InitializeAsync()
    {
        _server = await GatehouseServer.StartAsync();
        Directory.CreateDirectory(_folder);
        await StartCustomEndpointAsync();

        var node = ExternalTools.FindOnPath("node");
        var app = Path.Combine(ExternalTools.RepositoryRoot(), "tests", "storage-emulators");
        if (node is null)
        {
            SkipReason = "node is not installed (Debian: apt-get install nodejs npm)";
            return;
        }

        if (!File.Exists(Path.Combine(app, "node_modules", "s3rver", "package.json")) || !File.Exists(Path.Combine(app, "node_modules", "azurite", "package.json")))
        {
            SkipReason = "tests/storage-emulators/node_modules is missing: run `npm ci --prefix tests/storage-emulators`";
            return;
        }

        var s3Port = FreePort();
        await StartAsync(node, app, "S3rver listening",
            "node_modules/s3rver/bin/s3rver.js", "-d", Path.Combine(_folder, "s3"), "-a", "127.0.0.1", "-p", Port(s3Port), "--silent", "--configure-bucket", S3Bucket);
        S3Endpoint = $"http://127.0.0.1:{s3Port}";
        _s3 = new AmazonS3Client(new BasicAWSCredentials(S3AccessKey, S3SecretKey), new AmazonS3Config
        {
            ServiceURL = S3Endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });

        // azurite checks the client's API version against its own list; the SDK may be newer than the emulator.
        var azurePort = FreePort();
        await StartAsync(node, app, "successfully listens",
            "node_modules/azurite/dist/src/blob/main.js", "--blobHost", "127.0.0.1", "--blobPort", Port(azurePort), "-l", Path.Combine(_folder, "azure"),
            "--skipApiVersionCheck", "--disableTelemetry", "--loose");
        AzureEndpoint = $"http://127.0.0.1:{azurePort}/{AzureAccount}";
        _azure = new BlobContainerClient(new Uri($"{AzureEndpoint}/{AzureContainer}"), new StorageSharedKeyCredential(AzureAccount, AzureKey));
        await _azure.CreateIfNotExistsAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        _s3?.Dispose();
        if (_custom is not null)
        {
            await _custom.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // An emulator may still be letting go of its files; the temp folder is the system's to clean.
        }
    }

    public void SkipWhenUnavailable(string provider)
    {
        if (provider != "custom" && SkipReason is not null)
        {
            Assert.Skip(SkipReason);
        }
    }

    /// <summary>The bytes stored under the key, as the store itself has them; null when there is no such object.</summary>
    public async Task<byte[]?> ReadObjectAsync(string provider, string key)
    {
        switch (provider)
        {
            case "s3":
                try
                {
                    using var response = await _s3!.GetObjectAsync(S3Bucket, key);
                    using var copy = new MemoryStream();
                    await response.ResponseStream.CopyToAsync(copy);
                    return copy.ToArray();
                }
                catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
                {
                    return null;
                }

            case "azure":
                var blob = _azure!.GetBlobClient(key);
                if (!(await blob.ExistsAsync()).Value)
                {
                    return null;
                }

                return (await blob.DownloadContentAsync()).Value.Content.ToArray();
            default:
                return CustomObjects.TryGetValue(key, out var bytes) ? bytes : null;
        }
    }

    /// <summary>Replaces the object behind the server's back.</summary>
    public async Task WriteObjectAsync(string provider, string key, byte[] bytes)
    {
        switch (provider)
        {
            case "s3":
                using (var body = new MemoryStream(bytes))
                {
                    await _s3!.PutObjectAsync(new PutObjectRequest { BucketName = S3Bucket, Key = key, InputStream = body, UseChunkEncoding = false });
                }

                break;
            case "azure":
                await _azure!.GetBlobClient(key).UploadAsync(new BinaryData(bytes), overwrite: true);
                break;
            default:
                CustomObjects[key] = bytes;
                break;
        }
    }

    private async Task StartAsync(string node, string app, string ready, params string[] arguments)
    {
        var start = new ProcessStartInfo(node, arguments) { WorkingDirectory = app, RedirectStandardOutput = true, RedirectStandardError = true };
        var process = Process.Start(start)!;
        _processes.Add(process);
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                output.Enqueue(line);
                if (line.Contains(ready, StringComparison.Ordinal))
                {
                    listening.TrySetResult();
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                output.Enqueue(line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != listening.Task)
        {
            throw new InvalidOperationException($"{arguments[0]} did not start listening: {string.Join('\n', output)}");
        }
    }

    /// <summary>A bare object store: PUT stores the body, GET returns it, DELETE removes it; every request needs the key header.</summary>
    private async Task StartCustomEndpointAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options =>
        {
            options.Listen(IPAddress.Loopback, 0);
            options.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (context.Request.Headers[CustomHeader] != CustomSecret)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }

            await next(context);
        });
        app.MapPut("/objects/{**key}", async (string key, HttpRequest request) =>
        {
            using var copy = new MemoryStream();
            await request.Body.CopyToAsync(copy);
            CustomObjects[key] = copy.ToArray();
            return Results.Created();
        });
        app.MapGet("/objects/{**key}", (string key) => CustomObjects.TryGetValue(key, out var bytes) ? Results.Bytes(bytes, "application/octet-stream") : Results.NotFound());
        app.MapDelete("/objects/{**key}", (string key) => CustomObjects.TryRemove(key, out _) ? Results.NoContent() : Results.NotFound());
        await app.StartAsync();
        _custom = app;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        CustomEndpoint = addresses.First() + "/objects";
    }

    private static string Port(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
