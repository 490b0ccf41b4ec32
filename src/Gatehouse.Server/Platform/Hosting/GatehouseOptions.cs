namespace Gatehouse.Server.Platform.Hosting;

/// <summary>
/// Server-wide settings: section <c>Gatehouse</c> of appsettings.json, or the <c>GATEHOUSE_*</c>
/// environment variables. A feature's own settings live in its section (<c>Gatehouse:&lt;Feature&gt;</c>).
/// </summary>
public sealed class GatehouseOptions
{
    public string DataDir { get; set; } = "./data";
    public string? DatabaseUrl { get; set; }
    public string? MasterKey { get; set; }

    /// <summary>The master key being replaced: set with the new <see cref="MasterKey"/> to re-wrap every data key at start.</summary>
    public string? MasterKeyPrevious { get; set; }
    public string? RootKey { get; set; }
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Time a client has to send its request headers (slow-drip protection).</summary>
    public int RequestHeadersTimeoutSeconds { get; set; } = 15;

    /// <summary>Longest a request may run before it is answered 503 and its work cancelled.</summary>
    public int RequestTimeoutSeconds { get; set; } = 30;

    /// <summary>Upper bound of all request headers together.</summary>
    public int MaxRequestHeadersTotalBytes { get; set; } = 32 * 1024;

    /// <summary>Slowest accepted body upload; slower clients are disconnected after a 5 s grace.</summary>
    public int MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>Environment variable → configuration key. The environment wins over appsettings.json.</summary>
    public static readonly IReadOnlyDictionary<string, string> EnvironmentVariables = new Dictionary<string, string>
    {
        ["GATEHOUSE_DATA_DIR"] = "Gatehouse:DataDir",
        ["GATEHOUSE_DATABASE_URL"] = "Gatehouse:DatabaseUrl",
        ["GATEHOUSE_MASTER_KEY"] = "Gatehouse:MasterKey",
        ["GATEHOUSE_MASTER_KEY_PREVIOUS"] = "Gatehouse:MasterKeyPrevious",
        ["GATEHOUSE_ROOT_KEY"] = "Gatehouse:RootKey",
        ["GATEHOUSE_WEBHOOKS_ALLOW_INSECURE"] = "Gatehouse:Webhooks:AllowInsecure",
        ["GATEHOUSE_MAX_REQUEST_BODY_BYTES"] = "Gatehouse:MaxRequestBodyBytes",
        ["GATEHOUSE_TRUSTED_PROXIES"] = "Gatehouse:TrustedProxies",
        ["GATEHOUSE_TRUSTED_PROXY_HEADER"] = "Gatehouse:TrustedProxyHeader",
    };
}

/// <summary>A configuration problem that stops the server with one clear line.</summary>
public sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);
