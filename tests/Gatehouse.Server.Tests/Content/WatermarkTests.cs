using System.Security.Cryptography;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using PdfPigDocument = UglyToad.PdfPig.PdfDocument;
using SharpDocument = PdfSharp.Pdf.PdfDocument;

namespace Gatehouse.Server.Tests.Content;

/// <summary>
/// The DRM rule <c>watermark</c> as recipients meet it over HTTP: PDFs and PNG/JPEG images come stamped with the
/// recipient and the download id; other files, files past the size limit, rules without a watermark and files that
/// do not parse come byte-identical, with 200.
/// </summary>
public sealed class WatermarkTests : IAsyncLifetime
{
    private const int Limit = 100_000;
    private const string Stamp = "For {recipient} ({downloadId})";
    private static readonly object WatermarkRule = new { name = "stamped", allowDownload = true, watermark = Stamp };
    private GatehouseServer _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:Content:WatermarkMaxBytes"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_pdf_is_stamped_on_every_page_with_the_recipient_and_each_download_id()
    {
        var pdf = BlankPdf(pages: 3);
        var file = await _server.ShareAsync(WatermarkRule, pdf, recipient: "alice@example.org");

        foreach (var path in new[] { Path(file), Path(file) + "?download=true" })
        {
            var served = await _server.Anonymous.GetBytesAsync(path);
            served.StatusCode.ShouldBe(200, served.Text);
            served.Headers.GetValues("X-Watermark-Stamped").Single().ShouldBe("true");
            served.ContentHeaders.ContentLength.ShouldBe(served.Body.Length);
            served.Body.ShouldNotBe(pdf);
            // The recorded digest is the original's: the stamped copy differs from it by design.
            served.Headers.GetValues("X-Content-Sha256").Single().ShouldBe(Convert.ToHexStringLower(SHA256.HashData(pdf)));

            var downloadId = served.Headers.GetValues("X-Download-Id").Single();
            var expected = $"For alice@example.org ({downloadId})";
            Uri.UnescapeDataString(served.Headers.GetValues("X-Watermark").Single()).ShouldBe(expected);
            using var read = PdfPigDocument.Open(served.Body);
            read.NumberOfPages.ShouldBe(3);
            foreach (var page in read.GetPages())
            {
                page.Text.ShouldContain(expected);
            }
        }
    }

    [Fact]
    public async Task Pdf_string_delimiters_are_escaped_and_characters_outside_WinAnsi_become_question_marks()
    {
        var file = await _server.ShareAsync(new { name = "odd", watermark = "(x) \\ {recipient} \u4e2d é" }, BlankPdf(pages: 1));

        var served = await _server.Anonymous.GetBytesAsync(Path(file));

        served.StatusCode.ShouldBe(200, served.Text);
        using var read = PdfPigDocument.Open(served.Body);
        read.GetPage(1).Text.ShouldContain("(x) \\ reader@example.org ? é");
    }

    [Theory]
    [InlineData("png", "image/png")]
    [InlineData("jpeg", "image/jpeg")]
    public async Task An_image_gets_a_band_along_its_bottom_and_keeps_its_top_and_format(string format, string contentType)
    {
        var original = Picture(format, 400, 300);
        original.Length.ShouldBeLessThan(Limit);
        var file = await _server.ShareAsync(WatermarkRule, original, name: $"photo.{format}", contentType: contentType);

        var served = await _server.Anonymous.GetBytesAsync(Path(file));

        served.StatusCode.ShouldBe(200, served.Text);
        served.Headers.GetValues("X-Watermark-Stamped").Single().ShouldBe("true");
        served.ContentHeaders.ContentLength.ShouldBe(served.Body.Length);
        Image.DetectFormat(served.Body).ShouldBe(format == "png" ? PngFormat.Instance : JpegFormat.Instance);
        using var before = Image.Load<Rgba32>(original);
        using var after = Image.Load<Rgba32>(served.Body);
        after.Width.ShouldBe(400);
        after.Height.ShouldBe(300);
        // A lossless format keeps the top exactly; JPEG re-encoding may move a pixel value by a little.
        MeanDifference(before, after, 0, 150).ShouldBeLessThanOrEqualTo(format == "png" ? 0 : 3);
        MeanDifference(before, after, 294, 300).ShouldBeGreaterThan(30);
    }

    [Fact]
    public async Task A_rule_without_watermark_serves_pdfs_and_images_byte_identical()
    {
        var rule = new { name = "plain", allowDownload = true };
        var pdf = BlankPdf(pages: 1);
        var png = Picture("png", 120, 80);
        var pdfShare = await _server.ShareAsync(rule, pdf);
        var pngShare = await _server.ShareAsync(rule, png, name: "photo.png", contentType: "image/png");

        var servedPdf = await _server.Anonymous.GetBytesAsync(Path(pdfShare) + "?download=true");
        var servedPng = await _server.Anonymous.GetBytesAsync(Path(pngShare));

        servedPdf.Body.ShouldBe(pdf);
        servedPng.Body.ShouldBe(png);
        servedPdf.Headers.Contains("X-Watermark").ShouldBeFalse();
        servedPng.Headers.Contains("X-Watermark-Stamped").ShouldBeFalse();
    }

    [Fact]
    public async Task A_file_over_the_limit_is_served_unchanged_with_the_header_only()
    {
        var noise = Noise(256, 256);
        noise.Length.ShouldBeGreaterThan(Limit);
        var file = await _server.ShareAsync(WatermarkRule, noise, name: "noise.png", contentType: "image/png");

        var served = await _server.Anonymous.GetBytesAsync(Path(file));

        served.StatusCode.ShouldBe(200, served.Text);
        served.Body.ShouldBe(noise);
        served.Headers.GetValues("X-Watermark-Stamped").Single().ShouldBe("false");
        Uri.UnescapeDataString(served.Headers.GetValues("X-Watermark").Single()).ShouldStartWith("For reader@example.org (dl_");
    }

    [Theory]
    [InlineData("%PDF-1.7\nthis is not a PDF at all\n%%EOF\n", "application/pdf", "broken.pdf")]
    [InlineData("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer << /Root 1 0 R >>\n", "application/pdf", "truncated.pdf")]
    [InlineData("\u0089PNG\r\n\u001a\ngarbage after the signature", "image/png", "broken.png")]
    [InlineData("plain text, labelled as a JPEG", "image/jpeg", "liar.jpg")]
    [InlineData("just some notes", "text/plain", "notes.txt")]
    public async Task A_file_that_cannot_be_stamped_is_served_unchanged_with_200(string body, string contentType, string name)
    {
        var bytes = System.Text.Encoding.Latin1.GetBytes(body);
        var file = await _server.ShareAsync(WatermarkRule, bytes, name: name, contentType: contentType);

        var served = await _server.Anonymous.GetBytesAsync(Path(file));

        served.StatusCode.ShouldBe(200, served.Text);
        served.Body.ShouldBe(bytes);
        served.Headers.GetValues("X-Watermark-Stamped").Single().ShouldBe("false");
        served.Headers.Contains("X-Watermark").ShouldBeTrue();
    }

    [Fact]
    public async Task An_encrypted_pdf_is_served_unchanged_with_200()
    {
        byte[] encrypted;
        using (var document = new SharpDocument())
        {
            document.AddPage();
            document.SecuritySettings.UserPassword = "open sesame";
            document.SecuritySettings.OwnerPassword = "owner";
            using var output = new MemoryStream();
            await document.SaveAsync(output, closeStream: false);
            encrypted = output.ToArray();
        }

        var file = await _server.ShareAsync(WatermarkRule, encrypted);

        var served = await _server.Anonymous.GetBytesAsync(Path(file));

        served.StatusCode.ShouldBe(200, served.Text);
        served.Body.ShouldBe(encrypted);
        served.Headers.GetValues("X-Watermark-Stamped").Single().ShouldBe("false");
    }

    private static string Path(SharedFile file) => $"/api/v1/shares/{file.Token}/files/{file.FileId}";

    private static byte[] BlankPdf(int pages)
    {
        using var document = new SharpDocument();
        for (var i = 0; i < pages; i++)
        {
            document.AddPage();
        }

        using var output = new MemoryStream();
        document.Save(output, closeStream: false);
        return output.ToArray();
    }

    /// <summary>A smooth gradient: compresses well and survives JPEG re-encoding almost unchanged.</summary>
    private static byte[] Picture(string format, int width, int height)
    {
        using var image = new Image<Rgba32>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image[x, y] = new Rgba32((byte)(80 + (x * 100 / width)), (byte)(120 + (y * 100 / height)), 200, 255);
            }
        }

        return Encode(image, format);
    }

    private static byte[] Noise(int width, int height)
    {
        var random = new Random(25);
        using var image = new Image<Rgba32>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image[x, y] = new Rgba32((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), 255);
            }
        }

        return Encode(image, "png");
    }

    private static byte[] Encode(Image<Rgba32> image, string format)
    {
        using var output = new MemoryStream();
        if (format == "png")
        {
            image.SaveAsPng(output);
        }
        else
        {
            image.SaveAsJpeg(output, new JpegEncoder { Quality = 90 });
        }

        return output.ToArray();
    }

    /// <summary>The mean absolute difference of the colour channels over rows [from, to).</summary>
    private static double MeanDifference(Image<Rgba32> a, Image<Rgba32> b, int from, int to)
    {
        long total = 0;
        for (var y = from; y < to; y++)
        {
            for (var x = 0; x < a.Width; x++)
            {
                var (p, q) = (a[x, y], b[x, y]);
                total += Math.Abs(p.R - q.R) + Math.Abs(p.G - q.G) + Math.Abs(p.B - q.B);
            }
        }

        return total / (3.0 * a.Width * (to - from));
    }
}
