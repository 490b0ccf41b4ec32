# Gatehouse server image: built from this repository, run as a non-root user with the data dir on
# a volume. The root filesystem can be read-only (give /tmp a tmpfs); see docs/operations.md.

# --- build -------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project and package files first: the restore layer is reused until a dependency changes.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Gatehouse.Crypto/Gatehouse.Crypto.csproj src/Gatehouse.Crypto/
COPY src/Gatehouse.Contracts/Gatehouse.Contracts.csproj src/Gatehouse.Contracts/
COPY src/Gatehouse.Server/Gatehouse.Server.csproj src/Gatehouse.Server/
RUN dotnet restore src/Gatehouse.Server/Gatehouse.Server.csproj
COPY src/ src/
RUN dotnet publish src/Gatehouse.Server/Gatehouse.Server.csproj -c Release --no-restore -o /app /p:UseAppHost=false

# --- run ---------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The image's unprivileged user (APP_UID, 1654) owns the data dir and nothing else.
RUN mkdir /data && chown "$APP_UID" /data
ENV ASPNETCORE_HTTP_PORTS=8080 \
    GATEHOUSE_DATA_DIR=/data \
    DOTNET_NOLOGO=1
VOLUME /data
EXPOSE 8080
USER $APP_UID
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
    CMD ["dotnet", "/app/Gatehouse.Server.dll", "healthcheck", "http://127.0.0.1:8080/health/ready"]
ENTRYPOINT ["dotnet", "/app/Gatehouse.Server.dll"]
