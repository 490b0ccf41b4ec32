using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Gatehouse.Server.Features.Content;

/// <summary>
/// Objects behind a plain HTTP endpoint: <c>PUT</c>, <c>GET</c> and <c>DELETE</c> of
/// <c>{endpoint}/{prefix}/{key}</c>. A write streams the ciphertext as a chunked request body
/// through a small pipe (at most <see cref="PipeLimit"/> bytes in flight); the endpoint must make
/// the object visible only once the body is complete. The optional credential gives one header.
/// </summary>
public sealed class HttpContentStore(HttpClient http, Uri baseUri, StorageConfig config, AuthenticationHeaderValue? authorization, (string Name, string Value)? header) : IContentStore
{
    public const string ClientName = "content-storage";

    /// <summary>The pipe between the encryption and the request pauses the writer above this many bytes.</summary>
    public const int PipeLimit = 1024 * 1024;

    /// <summary>A store for the configuration, or the reason it cannot be built.</summary>
    public static (IContentStore? Store, string? Unavailable) Create(StorageConfig config, IReadOnlyDictionary<string, string> secret, HttpClient http)
    {
        if (config.Endpoint is null)
        {
            return (null, "A custom storage configuration needs an endpoint.");
        }

        AuthenticationHeaderValue? authorization = null;
        (string, string)? header = null;
        if (secret.GetValueOrDefault("headerName") is { Length: > 0 } name && secret.GetValueOrDefault("headerValue") is { Length: > 0 } value)
        {
            header = (name, value);
        }
        else if (secret.GetValueOrDefault("token") is { Length: > 0 } token)
        {
            authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (secret.GetValueOrDefault("username") is { Length: > 0 } user && secret.GetValueOrDefault("password") is { } password)
        {
            authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
        }

        return (new HttpContentStore(http, new Uri(config.Endpoint.TrimEnd('/') + "/"), config, authorization, header), null);
    }

    public async Task WriteAsync(string key, Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: PipeLimit, resumeWriterThreshold: PipeLimit / 2, useSynchronizationContext: false));
        using var request = Request(HttpMethod.Put, key);
        request.Content = new StreamContent(pipe.Reader.AsStream());
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var send = SendAsync(request, pipe, abort.Token);
        try
        {
            await using (var writer = pipe.Writer.AsStream())
            {
                await write(writer);
            }
        }
        catch (Exception writeFailure)
        {
            // The request must not complete: the endpoint sees a broken body, never a short object.
            await abort.CancelAsync();
            await pipe.Writer.CompleteAsync(new OperationCanceledException());
            ContentStoreException? storeFailure = null;
            try
            {
                using var refused = await send;
                if (!refused.IsSuccessStatusCode)
                {
                    storeFailure = new ContentStoreException($"The custom store refused the write: {(int)refused.StatusCode} {refused.ReasonPhrase}");
                }
            }
            catch (ContentStoreException ex)
            {
                storeFailure = ex;
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                // Cancelled here, because the write failed: the write's failure is the one reported.
            }

            // The store broke off (the writer then fails on the closed pipe): that is the failure to report.
            // A client's body that was too large or broken (BadHttpRequestException) stays the client's failure.
            if (storeFailure is not null && writeFailure is not BadHttpRequestException
                && writeFailure is HttpRequestException or OperationCanceledException or IOException or ContentStoreException)
            {
                throw storeFailure;
            }

            throw;
        }

        using var response = await send;
        if (!response.IsSuccessStatusCode)
        {
            throw new ContentStoreException($"The custom store refused the write: {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }

    public async Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, key);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new ContentStoreException("The custom store could not be reached: " + ex.HttpRequestError, ex);
        }

        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            response.Dispose();
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            response.Dispose();
            throw new ContentStoreException($"The custom store refused the read: {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        return new OwningStream(await response.Content.ReadAsStreamAsync(cancellationToken), response);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Delete, key);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
            {
                throw new ContentStoreException($"The custom store refused the delete: {(int)response.StatusCode} {response.ReasonPhrase}");
            }
        }
        catch (HttpRequestException ex)
        {
            throw new ContentStoreException("The custom store could not be reached: " + ex.HttpRequestError, ex);
        }
    }

    private HttpRequestMessage Request(HttpMethod method, string key)
    {
        var escaped = string.Join('/', ContentStores.Prefixed(config, key).Split('/').Select(Uri.EscapeDataString));
        var request = new HttpRequestMessage(method, new Uri(baseUri, escaped));
        request.Headers.Authorization = authorization;
        if (header is { } extra)
        {
            request.Headers.TryAddWithoutValidation(extra.Name, extra.Value);
        }

        return request;
    }

    /// <summary>Sends the request; if it ends early, the pipe's reader completes so the writer stops instead of waiting for room.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, Pipe pipe, CancellationToken cancellationToken)
    {
        try
        {
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            // An endpoint that answered before reading the whole body (a refusal) leaves the writer nothing to wait for.
            await pipe.Reader.CompleteAsync();
            return response;
        }
        catch (HttpRequestException ex)
        {
            await pipe.Reader.CompleteAsync(ex);
            throw new ContentStoreException("The custom store could not be reached: " + ex.HttpRequestError, ex);
        }
        catch (OperationCanceledException ex)
        {
            await pipe.Reader.CompleteAsync(ex);
            throw;
        }
    }
}
