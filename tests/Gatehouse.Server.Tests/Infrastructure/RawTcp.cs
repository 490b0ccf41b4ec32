using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>Bytes on a socket, for requests an HTTP client refuses to send (malformed lines and headers).</summary>
public static class RawTcp
{
    /// <summary>Sends <paramref name="request"/> as Latin-1 and reads the whole reply until the server closes.</summary>
    public static async Task<string> SendRawTcpAsync(this GatehouseServer server, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        var reply = new StringBuilder();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                reply.Append(Encoding.Latin1.GetString(buffer, 0, read));
            }
        }
        catch (IOException) when (reply.Length > 0)
        {
            // The server closed the connection after answering (e.g. a rejected body).
        }

        return reply.ToString();
    }
}
