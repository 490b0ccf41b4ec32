using System.Text.RegularExpressions;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Content;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Content;

/// <summary>The address book, tags and the share pages' branding.</summary>
public static partial class DirectoryOperations
{
    // The audit names the fields written, never their values: an address book is personal data.
    private static readonly string[] ContactFields = ["email", "name", "company", "tags"];
    private static readonly string[] CustomizationFields = ["logoUrl", "colors", "emailFrom", "viewerTexts"];

    public static async Task<Results<ApiCreated<ContactView>, ApiError>> CreateContact(
        string orgId, ContactRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (ValidateContact(request) is { } invalid)
        {
            return invalid;
        }

        var email = request.Email!.Trim().ToLowerInvariant();
        if (await db.Owned<Contact>(orgId).AnyAsync(c => c.Email == email, cancellationToken))
        {
            return ApiError.Conflict($"The address book already holds {email}.");
        }

        var now = clock.GetUtcNow();
        var contact = new Contact
        {
            Id = Ids.New("con", now),
            OrgId = orgId,
            Email = email,
            Name = request.Name!,
            Company = request.Company,
            Tags = [.. (request.Tags ?? []).Distinct(StringComparer.Ordinal)],
            CreatedAt = now.UtcDateTime,
            UpdatedAt = now.UtcDateTime,
        };
        db.Add(contact);
        changes.Record(ContentActions.ContactCreate, orgId, contact.Id, new { fields = ContactFields });
        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<ContactView>(ContentViews.View(contact));
    }

    public static async Task<Results<ApiPage<ContactView>, ApiError>> ListContacts(
        string orgId, [AsParameters] PageParameters paging, [FromQuery] string? email, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var query = db.Owned<Contact>(orgId).AsNoTracking();
        if (email is not null)
        {
            var normalized = email.Trim().ToLowerInvariant();
            query = query.Where(c => c.Email == normalized);
        }

        query = query.ApplyWindow(page);
        var total = await query.LongCountAsync(cancellationToken);
        var items = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        return new ApiPage<ContactView>([.. items.Select(ContentViews.View)], page.Paginate(total));
    }

    public static async Task<Results<ApiOk<ContactView>, ApiError>> GetContact(string orgId, string contactId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var contact = await db.Owned<Contact>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == contactId, cancellationToken);
        return contact is null ? ApiError.NotFound("address-book entry") : new ApiOk<ContactView>(ContentViews.View(contact));
    }

    public static async Task<Results<ApiOk<ContactView>, ApiError>> ReplaceContact(
        string orgId, string contactId, ContactRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (ValidateContact(request) is { } invalid)
        {
            return invalid;
        }

        var contact = await db.Owned<Contact>(orgId).FirstOrDefaultAsync(c => c.Id == contactId, cancellationToken);
        if (contact is null)
        {
            return ApiError.NotFound("address-book entry");
        }

        var email = request.Email!.Trim().ToLowerInvariant();
        if (email != contact.Email && await db.Owned<Contact>(orgId).AnyAsync(c => c.Email == email, cancellationToken))
        {
            return ApiError.Conflict($"The address book already holds {email}.");
        }

        contact.Email = email;
        contact.Name = request.Name!;
        contact.Company = request.Company;
        contact.Tags = [.. (request.Tags ?? []).Distinct(StringComparer.Ordinal)];
        contact.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        changes.Record(ContentActions.ContactUpdate, orgId, contact.Id, new { fields = ContactFields });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<ContactView>(ContentViews.View(contact));
    }

    /// <summary>Deleting an entry stops new shares to it; links already sent keep working until revoked or expired.</summary>
    public static async Task<Results<ApiOk<Deleted>, ApiError>> DeleteContact(string orgId, string contactId, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        var contact = await db.Owned<Contact>(orgId).FirstOrDefaultAsync(c => c.Id == contactId, cancellationToken);
        if (contact is null)
        {
            return ApiError.NotFound("address-book entry");
        }

        db.Remove(contact);
        changes.Record(ContentActions.ContactDelete, orgId, contact.Id);
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<Deleted>(new Deleted(contact.Id));
    }

    public static async Task<Results<ApiCreated<TagView>, ApiError>> CreateTag(
        string orgId, TagRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (ValidateTag(request) is { } invalid)
        {
            return invalid;
        }

        if (await db.Owned<ContentTag>(orgId).AnyAsync(t => t.Name == request.Name, cancellationToken))
        {
            return ApiError.Conflict($"A tag named '{request.Name}' already exists.");
        }

        var now = clock.GetUtcNow();
        var tag = new ContentTag { Id = Ids.New("tag", now), OrgId = orgId, Name = request.Name!, Color = request.Color, CreatedAt = now.UtcDateTime, UpdatedAt = now.UtcDateTime };
        db.Add(tag);
        changes.Record(ContentActions.TagCreate, orgId, tag.Id, new { tag.Name, tag.Color });
        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<TagView>(ContentViews.View(tag));
    }

    public static async Task<Results<ApiPage<TagView>, ApiError>> ListTags(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (items, pagination) = await db.Owned<ContentTag>(orgId).AsNoTracking().ToPageAsync(page, cancellationToken);
        return new ApiPage<TagView>([.. items.Select(ContentViews.View)], pagination);
    }

    public static async Task<Results<ApiOk<TagView>, ApiError>> GetTag(string orgId, string tagId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var tag = await db.Owned<ContentTag>(orgId).AsNoTracking().FirstOrDefaultAsync(t => t.Id == tagId, cancellationToken);
        return tag is null ? ApiError.NotFound("tag") : new ApiOk<TagView>(ContentViews.View(tag));
    }

    public static async Task<Results<ApiOk<TagView>, ApiError>> ReplaceTag(
        string orgId, string tagId, TagRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (ValidateTag(request) is { } invalid)
        {
            return invalid;
        }

        var tag = await db.Owned<ContentTag>(orgId).FirstOrDefaultAsync(t => t.Id == tagId, cancellationToken);
        if (tag is null)
        {
            return ApiError.NotFound("tag");
        }

        if (request.Name != tag.Name && await db.Owned<ContentTag>(orgId).AnyAsync(t => t.Name == request.Name, cancellationToken))
        {
            return ApiError.Conflict($"A tag named '{request.Name}' already exists.");
        }

        tag.Name = request.Name!;
        tag.Color = request.Color;
        tag.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        changes.Record(ContentActions.TagUpdate, orgId, tag.Id, new { tag.Name, tag.Color });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<TagView>(ContentViews.View(tag));
    }

    public static async Task<Results<ApiOk<Deleted>, ApiError>> DeleteTag(string orgId, string tagId, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        var tag = await db.Owned<ContentTag>(orgId).FirstOrDefaultAsync(t => t.Id == tagId, cancellationToken);
        if (tag is null)
        {
            return ApiError.NotFound("tag");
        }

        db.Remove(tag);
        changes.Record(ContentActions.TagDelete, orgId, tag.Id, new { tag.Name });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<Deleted>(new Deleted(tag.Id));
    }

    public static async Task<Results<ApiOk<CustomizationView>, ApiError>> GetCustomization(string orgId, GatehouseDb db, CancellationToken cancellationToken) =>
        new ApiOk<CustomizationView>(ContentViews.View(await db.Owned<Customization>(orgId).AsNoTracking().FirstOrDefaultAsync(cancellationToken)));

    public static async Task<Results<ApiOk<CustomizationView>, ApiError>> PutCustomization(
        string orgId, CustomizationRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Optional("logoUrl", request.LogoUrl, 500).Optional("emailFrom", request.EmailFrom, 254);
        if (request.LogoUrl is { Length: <= 500 } logo && (!Uri.TryCreate(logo, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps))
        {
            validation.Add("logoUrl", "must be an absolute https URL");
        }

        if (request.EmailFrom is { Length: <= 254 } from && !EmailPattern().IsMatch(from))
        {
            validation.Add("emailFrom", "must be an e-mail address");
        }

        CheckTexts(validation, "colors", request.Colors, 50);
        CheckTexts(validation, "viewerTexts", request.ViewerTexts, 2000);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var settings = new CustomizationSettings { LogoUrl = request.LogoUrl, Colors = request.Colors, EmailFrom = request.EmailFrom, ViewerTexts = request.ViewerTexts };
        var now = clock.GetUtcNow().UtcDateTime;
        var existing = await db.Owned<Customization>(orgId).FirstOrDefaultAsync(cancellationToken);
        if (existing is null)
        {
            existing = new Customization { OrgId = orgId, Settings = settings, UpdatedAt = now };
            db.Add(existing);
        }
        else
        {
            existing.Settings = settings;
            existing.UpdatedAt = now;
        }

        changes.Record(ContentActions.CustomizationUpdate, orgId, orgId, new { fields = CustomizationFields });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<CustomizationView>(ContentViews.View(existing));
    }

    private static ApiError? ValidateContact(ContactRequest request)
    {
        var validation = new Validation().Required("email", request.Email, 254).Required("name", request.Name, 200).Optional("company", request.Company, 200);
        if (request.Email is { Length: <= 254 } email && !string.IsNullOrWhiteSpace(email) && !EmailPattern().IsMatch(email.Trim()))
        {
            validation.Add("email", "must be an e-mail address");
        }

        ContainerOperations.CheckTags(validation, request.Tags);
        return validation.IsValid ? null : validation.ToError();
    }

    private static ApiError? ValidateTag(TagRequest request)
    {
        var validation = new Validation().Required("name", request.Name, 64);
        if (request.Color is not null && !ColorPattern().IsMatch(request.Color))
        {
            validation.Add("color", "must be #rrggbb");
        }

        return validation.IsValid ? null : validation.ToError();
    }

    private static void CheckTexts(Validation validation, string field, Dictionary<string, string>? texts, int maxLength)
    {
        if (texts is not null && (texts.Count > 50 || texts.Any(t => t.Key.Length > 64 || t.Value is null || t.Value.Length > maxLength)))
        {
            validation.Add(field, $"must hold at most 50 entries with keys of up to 64 and values of up to {maxLength} characters");
        }
    }

    [GeneratedRegex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$")]
    private static partial Regex EmailPattern();

    [GeneratedRegex("^#[0-9a-fA-F]{6}$")]
    private static partial Regex ColorPattern();
}
