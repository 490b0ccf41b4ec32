using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Vault;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Vault;

public static partial class CredentialOperations
{
    /// <summary>The data fields each auth type requires (non-empty strings); <c>custom</c> needs any non-empty object.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> RequiredFields = new Dictionary<string, string[]>
    {
        ["oauth2_bearer"] = ["accessToken"],
        ["oauth2_client_credentials"] = ["clientId", "clientSecret", "tokenUrl"],
        ["api_key"] = ["apiKey"],
        ["basic_auth"] = ["username", "password"],
        ["bearer_token"] = ["token"],
        ["jwt"] = ["token"],
        ["saml"] = ["assertion"],
        ["custom"] = [],
    };

    public static async Task<Results<ApiCreated<CredentialView>, ApiError>> Create(
        string orgId, CreateCredentialRequest request, GatehouseDb db, VaultKeyring keyring, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("integrationId", request.IntegrationId, 128).Required("name", request.Name, 200);
        if (!string.IsNullOrEmpty(request.IntegrationId) && !IntegrationPattern().IsMatch(request.IntegrationId))
        {
            validation.Add("integrationId", "must match [a-zA-Z0-9_.:-]{1,128}");
        }

        if (string.IsNullOrEmpty(request.AuthType))
        {
            validation.Add("authType", "required");
        }
        else if (!RequiredFields.ContainsKey(request.AuthType))
        {
            validation.Add("authType", "must be one of " + string.Join(", ", RequiredFields.Keys));
        }
        else
        {
            CheckData(validation, request.AuthType, request.Data);
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var credential = new Credential
        {
            Id = Ids.New("cred", clock.GetUtcNow()),
            OrgId = orgId,
            IntegrationId = request.IntegrationId!,
            Name = request.Name!,
            AuthType = request.AuthType!,
            Metadata = request.Metadata,
            ExpiresAt = request.ExpiresAt,
            CurrentVersion = 1,
            CreatedAt = now,
            UpdatedAt = now,
        };
        // Sealed and committed under the org's key lock: the key version sealed under cannot be
        // retired between loading the keyring and the record becoming visible to the retire step.
        await changes.RunAsync(async ct =>
        {
            await DataKeyLock.ForSealingAsync(db, orgId, ct);
            var ring = await keyring.ForOrgAsync(db, orgId, ct);
            db.Add(credential);
            db.Add(SealVersion(ring, credential, 1, request.Data!, now));
            changes.Record(VaultActions.Create, orgId, credential.Id, new { credential.IntegrationId, credential.AuthType, credential.Name, dataFields = request.Data!.Keys.Order(StringComparer.Ordinal) });
        }, cancellationToken);
        return new ApiCreated<CredentialView>(View(credential, now, null));
    }

    public static async Task<Results<ApiPage<CredentialView>, ApiError>> List(
        string orgId, [AsParameters] PageParameters paging, [FromQuery] string? integrationId, [FromQuery] string? authType, GatehouseDb db, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var query = db.Owned<Credential>(orgId).AsNoTracking();
        if (integrationId is not null)
        {
            query = query.Where(c => c.IntegrationId == integrationId);
        }

        if (authType is not null)
        {
            query = query.Where(c => c.AuthType == authType);
        }

        query = query.ApplyWindow(page);
        var total = await query.LongCountAsync(cancellationToken);
        var items = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        return new ApiPage<CredentialView>([.. items.Select(c => View(c, now, null))], page.Paginate(total));
    }

    /// <summary>Every credential of the integration with its decrypted current data; each reveal is audited.</summary>
    public static async Task<Results<ApiOk<IReadOnlyList<RevealedCredential>>, ApiError>> Reveal(
        string orgId, string integrationId, GatehouseDb db, VaultKeyring keyring, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var credentials = await db.Owned<Credential>(orgId).AsNoTracking().Where(c => c.IntegrationId == integrationId)
            .OrderBy(c => c.CreatedAt).ToListAsync(cancellationToken);
        if (credentials.Count == 0)
        {
            return ApiError.NotFound("integration");
        }

        var revealed = await OpenAsync(orgId, credentials, db, keyring, changes, clock.GetUtcNow().UtcDateTime, cancellationToken);

        // Every credential of the integration went between the read of the list and the reveal.
        return revealed.Count == 0 ? ApiError.NotFound("integration") : new ApiOk<IReadOnlyList<RevealedCredential>>(revealed);
    }

    /// <summary>One credential of the integration with its decrypted current data; the reveal is audited like the integration's.</summary>
    public static async Task<Results<ApiOk<RevealedCredential>, ApiError>> RevealOne(
        string orgId, string integrationId, string credentialId, GatehouseDb db, VaultKeyring keyring, ChangeSet changes, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var credential = await db.Owned<Credential>(orgId).AsNoTracking()
            .FirstOrDefaultAsync(c => c.IntegrationId == integrationId && c.Id == credentialId, cancellationToken);
        if (credential is null)
        {
            return ApiError.NotFound("credential");
        }

        var revealed = await OpenAsync(orgId, [credential], db, keyring, changes, clock.GetUtcNow().UtcDateTime, cancellationToken);
        // Deleted between the read and the reveal.
        return revealed.Count == 0 ? ApiError.NotFound("credential") : new ApiOk<RevealedCredential>(revealed[0]);
    }

    /// <summary>
    /// Opens the current data of each credential (an expired one is reported with no data) and
    /// records one <c>credential.reveal</c> per opened credential in the same transaction.
    /// </summary>
    private static async Task<List<RevealedCredential>> OpenAsync(
        string orgId, List<Credential> credentials, GatehouseDb db, VaultKeyring keyring, ChangeSet changes, DateTime now, CancellationToken cancellationToken)
    {
        var revealed = new List<RevealedCredential>();
        await changes.RunAsync(async ct =>
        {
            // The records are read first and the keyring after, under the key lock: no version a
            // record was read under can be retired in between, and the keyring holds every live one.
            await DataKeyLock.ForSealingAsync(db, orgId, ct);
            var sealedVersions = new List<(Credential Credential, CredentialView View, CredentialVersion? Version)>();
            foreach (var credential in credentials)
            {
                var view = View(credential, now, null);
                // An expired credential is reported as expired, never silently handed out.
                var version = view.Expired ? null : await db.Owned<CredentialVersion>(orgId).AsNoTracking()
                    .FirstOrDefaultAsync(v => v.CredentialId == credential.Id && v.Version == credential.CurrentVersion, ct);
                if (version is null && !view.Expired)
                {
                    // Deleted (or given a new version) since the list was read: not part of this answer.
                    continue;
                }

                sealedVersions.Add((credential, view, version));
            }

            var ring = await keyring.ForOrgAsync(db, orgId, ct);
            foreach (var (credential, view, version) in sealedVersions)
            {
                if (version is null)
                {
                    revealed.Add(new RevealedCredential(view, null));
                    continue;
                }

                var plaintext = ring.Open(version.Ciphertext, AssociatedData.ForCredential(orgId, credential.Id, version.Version));
                revealed.Add(new RevealedCredential(view, JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(plaintext)));
                changes.Record(VaultActions.Reveal, orgId, credential.Id, new { credential.IntegrationId, version = version.Version });
            }
        }, cancellationToken);
        return revealed;
    }

    /// <summary>Metadata and versions of the integration's credentials; no secret data.</summary>
    public static async Task<Results<ApiOk<IReadOnlyList<CredentialView>>, ApiError>> Details(
        string orgId, string integrationId, GatehouseDb db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var credentials = await db.Owned<Credential>(orgId).AsNoTracking().Where(c => c.IntegrationId == integrationId)
            .OrderBy(c => c.CreatedAt).ToListAsync(cancellationToken);
        if (credentials.Count == 0)
        {
            return ApiError.NotFound("integration");
        }

        var ids = credentials.Select(c => c.Id).ToList();
        var versions = await db.Set<CredentialVersion>().AsNoTracking().Where(v => ids.Contains(v.CredentialId))
            .Select(v => new { v.CredentialId, v.Version, v.KeyVersion, v.CreatedAt }).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        return new ApiOk<IReadOnlyList<CredentialView>>([.. credentials.Select(c => View(c, now,
            [.. versions.Where(v => v.CredentialId == c.Id).OrderByDescending(v => v.Version).Select(v => new CredentialVersionView(v.Version, v.KeyVersion, v.CreatedAt))]))]);
    }

    public static async Task<Results<ApiOk<CredentialView>, ApiError>> Update(
        string orgId, string integrationId, string credentialId, UpdateCredentialRequest request, GatehouseDb db, VaultKeyring keyring, ChangeSet changes,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        if (request.Name is not null)
        {
            validation.Required("name", request.Name, 200);
        }

        // New data is sealed and committed under the org's key lock (see Create).
        return await changes.RunAsync<Results<ApiOk<CredentialView>, ApiError>>(async ct =>
        {
            var credential = await db.Owned<Credential>(orgId).FirstOrDefaultAsync(c => c.IntegrationId == integrationId && c.Id == credentialId, ct);
            if (credential is null)
            {
                return ApiError.NotFound("credential");
            }

            if (request.Data is not null)
            {
                CheckData(validation, credential.AuthType, request.Data);
            }

            if (!validation.IsValid)
            {
                return validation.ToError();
            }

            var now = clock.GetUtcNow().UtcDateTime;
            var changed = new List<string>();
            if (request.Name is { } name && name != credential.Name)
            {
                credential.Name = name;
                changed.Add("name");
            }

            if (request.Metadata is not null)
            {
                credential.Metadata = request.Metadata;
                changed.Add("metadata");
            }

            if (request.ExpiresAt is { } expiresAt)
            {
                credential.ExpiresAt = expiresAt;
                changed.Add("expiresAt");
            }

            if (request.Data is not null)
            {
                await DataKeyLock.ForSealingAsync(db, orgId, ct);
                var ring = await keyring.ForOrgAsync(db, orgId, ct);
                credential.CurrentVersion++;
                db.Add(SealVersion(ring, credential, credential.CurrentVersion, request.Data, now));
                changed.Add("data");
            }

            if (changed.Count > 0)
            {
                credential.UpdatedAt = now;
                changes.Record(VaultActions.Update, orgId, credential.Id, new { fields = changed, version = credential.CurrentVersion });
            }

            return new ApiOk<CredentialView>(View(credential, now, null));
        }, cancellationToken);
    }

    /// <summary>Deletes the credential and every version of its ciphertext.</summary>
    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(
        string orgId, string integrationId, string credentialId, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        var credential = await db.Owned<Credential>(orgId).FirstOrDefaultAsync(c => c.IntegrationId == integrationId && c.Id == credentialId, cancellationToken);
        if (credential is null)
        {
            return ApiError.NotFound("credential");
        }

        await changes.RunAsync(async ct =>
        {
            await db.Set<CredentialVersion>().Where(v => v.CredentialId == credentialId).ExecuteDeleteAsync(ct);
            db.Remove(credential);
            changes.Record(VaultActions.Delete, orgId, credential.Id, new { credential.IntegrationId });
        }, cancellationToken);
        return new ApiOk<Deleted>(new Deleted(credential.Id));
    }

    private static CredentialVersion SealVersion(OrgKeyring ring, Credential credential, int version, Dictionary<string, JsonElement> data, DateTime now) => new()
    {
        CredentialId = credential.Id,
        OrgId = credential.OrgId,
        Version = version,
        KeyVersion = (int)ring.CurrentVersion,
        Ciphertext = ring.Seal(JsonSerializer.SerializeToUtf8Bytes(data), AssociatedData.ForCredential(credential.OrgId, credential.Id, version)),
        CreatedAt = now,
    };

    private static void CheckData(Validation validation, string authType, Dictionary<string, JsonElement>? data)
    {
        if (data is null || data.Count == 0)
        {
            validation.Add("data", "required");
            return;
        }

        foreach (var field in RequiredFields[authType])
        {
            if (!data.TryGetValue(field, out var value) || value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(value.GetString()))
            {
                validation.Add($"data.{field}", "required");
            }
        }
    }

    private static CredentialView View(Credential c, DateTime now, IReadOnlyList<CredentialVersionView>? versions) =>
        new(c.Id, c.OrgId, c.IntegrationId, c.Name, c.AuthType, c.Metadata, c.ExpiresAt, c.ExpiresAt is { } at && at <= now, c.CurrentVersion, versions, c.CreatedAt, c.UpdatedAt);

    [GeneratedRegex(CreateCredentialRequest.IntegrationIdPattern)]
    private static partial Regex IntegrationPattern();
}
