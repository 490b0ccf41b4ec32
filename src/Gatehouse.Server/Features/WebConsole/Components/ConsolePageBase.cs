using Gatehouse.Contracts.Users;
using Gatehouse.Server.Platform.Auth;
using Microsoft.AspNetCore.Components;

namespace Gatehouse.Server.Features.WebConsole.Components;

/// <summary>
/// A console page behind the login: it reads the session cookie, asks the API who the session is
/// (an ended or expired session sends the browser to the login page with a message), and runs every
/// action through the API so its answer — success or error code — is what the page shows.
/// </summary>
public abstract class ConsolePageBase : ComponentBase
{
    [CascadingParameter]
    public HttpContext HttpContext { get; set; } = default!;

    [Inject]
    public ConsoleTransport Transport { get; set; } = default!;

    [Inject]
    public NavigationManager Navigation { get; set; } = default!;

    /// <summary>The organization a platform administrator looks at; an organization's user always sees their own.</summary>
    [SupplyParameterFromQuery(Name = "org")]
    public string? OrgQuery { get; set; }

    protected ConsoleApi Api { get; private set; } = default!;
    protected CurrentSessionResponse Session { get; private set; } = default!;
    protected string? OrgId { get; private set; }
    protected bool Ready { get; private set; }
    protected string? Error { get; set; }
    protected string? Notice { get; set; }

    protected bool IsPlatformAdministrator => Session.User.OrgId is null;

    /// <summary>
    /// Whether the session holds a permission, by the API's own rule: pages hide what the API would
    /// refuse. A courtesy only — the API decides every action, and a forged post is refused there.
    /// </summary>
    protected bool Can(string permission) => Permission.Grants([.. Session.Permissions], permission);

    /// <summary>Appends the chosen organization to a console link (only a platform administrator chooses).</summary>
    protected string Link(string path)
    {
        if (!IsPlatformAdministrator || OrgId is null)
        {
            return path;
        }

        var separator = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        return $"{path}{separator}org={Uri.EscapeDataString(OrgId)}";
    }

    protected string OrgPath(string rest) => $"orgs/{Uri.EscapeDataString(OrgId ?? "")}/{rest}";

    protected virtual bool NeedsOrganization => true;

    protected override async Task OnInitializedAsync()
    {
        if (ConsoleSessionCookie.Read(HttpContext) is not { } token)
        {
            Navigation.NavigateTo(LoginLink(expired: false), forceLoad: true);
            return;
        }

        Api = Transport.For(token);
        try
        {
            Session = await Api.GetAsync<CurrentSessionResponse>("auth/session", HttpContext.RequestAborted);
        }
        catch (ConsoleApiException ex) when (ex.SessionEnded || ex.Status == StatusCodes.Status403Forbidden)
        {
            Navigation.NavigateTo(LoginLink(expired: true), forceLoad: true);
            return;
        }

        OrgId = Session.User.OrgId ?? (string.IsNullOrWhiteSpace(OrgQuery) ? null : OrgQuery);
        Ready = true;
        if (NeedsOrganization && OrgId is null)
        {
            return;
        }

        await RunAsync(LoadAsync);
    }

    /// <summary>Reads what the page shows; runs again after each action.</summary>
    protected virtual Task LoadAsync() => Task.CompletedTask;

    /// <summary>Runs an API call: an error becomes the page's message, an ended session a trip to the login page.</summary>
    protected async Task<bool> RunAsync(Func<Task> action)
    {
        try
        {
            await action();
            return true;
        }
        catch (ConsoleApiException ex) when (ex.SessionEnded)
        {
            Navigation.NavigateTo(LoginLink(expired: true), forceLoad: true);
            return false;
        }
        catch (ConsoleApiException ex)
        {
            Error = $"{ex.Message} ({ex.Code})";
            return false;
        }
    }

    /// <summary>An action followed by a fresh read of the page.</summary>
    protected async Task ActAsync(Func<Task> action, string? notice = null)
    {
        Error = null;
        if (await RunAsync(action))
        {
            Notice = notice;
            await RunAsync(LoadAsync);
        }
    }

    private string LoginLink(bool expired)
    {
        var returnTo = Uri.EscapeDataString("/" + Navigation.ToBaseRelativePath(Navigation.Uri));
        return $"/console/login?returnTo={returnTo}" + (expired ? "&expired=1" : "");
    }
}
