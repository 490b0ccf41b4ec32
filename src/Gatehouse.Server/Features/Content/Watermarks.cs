using System.Globalization;
using System.Text;
using PdfSharp.Pdf;
using PdfSharp.Pdf.Advanced;
using PdfSharp.Pdf.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Gatehouse.Server.Features.Content;

/// <summary>What stamping did to one file: the bytes to serve, and why they are the original when they are.</summary>
public sealed record WatermarkOutcome(byte[] Bytes, string Kind, string? SkippedBecause)
{
    public bool Stamped => SkippedBecause is null;

    public static WatermarkOutcome Unchanged(byte[] original, string kind, string reason) => new(original, kind, reason);
}

/// <summary>
/// Visible per-recipient stamps on served PDFs and PNG/JPEG images (DRM rule <c>watermark</c>).
/// Anything that cannot be stamped — another type, a PDF that does not open, a corrupt or huge
/// image — comes back unchanged with the reason; stamping never fails a request.
/// </summary>
public static class Watermarks
{
    /// <summary>Larger images (width × height) are not decoded at all: a small file can claim a huge canvas.</summary>
    public const long MaxImagePixels = 40_000_000;

    /// <summary>The stamp text for one recipient and one download, exactly as the <c>X-Watermark</c> header carries it.</summary>
    public static string Text(string template, string recipient, string downloadId) =>
        template.Replace("{recipient}", recipient, StringComparison.Ordinal).Replace("{downloadId}", downloadId, StringComparison.Ordinal);

    /// <summary>Which stamper a file goes to: by its magic bytes first, then by its declared type.</summary>
    public static string KindOf(ReadOnlySpan<byte> head, string contentType)
    {
        if (head.StartsWith("%PDF-"u8))
        {
            return "pdf";
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return "png";
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return "jpeg";
        }

        var type = contentType.Split(';', 2)[0].Trim().ToLowerInvariant();
        return type switch
        {
            "application/pdf" => "pdf",
            "image/png" => "png",
            "image/jpeg" or "image/jpg" => "jpeg",
            _ => "other",
        };
    }

    /// <summary>The stamped bytes, or the original ones and why.</summary>
    public static WatermarkOutcome Apply(byte[] content, string contentType, string text)
    {
        var kind = KindOf(content, contentType);
        return kind switch
        {
            "pdf" => PdfStamp.Apply(content, text),
            "png" or "jpeg" => ImageStamp.Apply(content, kind, text),
            _ => WatermarkOutcome.Unchanged(content, kind, "not a PDF, PNG or JPEG"),
        };
    }
}

/// <summary>
/// Stamps every page of a PDF with raw content-stream operators and the standard Type1 font
/// Helvetica (no font files, no font resolver): one grey diagonal line across the page and one
/// along its bottom edge, both semi-transparent.
/// </summary>
internal static class PdfStamp
{
    private const string FontName = "/GhWmFont";
    private const string StateName = "/GhWmState";
    private const double AverageWidth = 0.58;

    public static WatermarkOutcome Apply(byte[] content, string text)
    {
        using var input = new MemoryStream(content, writable: false);
        using var document = Open(input, out var failure);
        if (document is null)
        {
            return WatermarkOutcome.Unchanged(content, "pdf", $"the PDF could not be opened ({failure})");
        }

        if (document.PageCount == 0)
        {
            return WatermarkOutcome.Unchanged(content, "pdf", "the PDF has no pages");
        }

        try
        {
            var literal = Literal(text);
            var font = Font(document);
            var state = TransparentState(document);
            foreach (var page in document.Pages)
            {
                StampPage(page, font, state, literal, text.Length);
            }

            using var output = new MemoryStream();
            document.Save(output, closeStream: false);
            return new WatermarkOutcome(output.ToArray(), "pdf", null);
        }
#pragma warning disable CA1031 // Same reason: a document that opened may still fail to rewrite.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            return WatermarkOutcome.Unchanged(content, "pdf", $"the PDF could not be rewritten ({ex.GetType().Name})");
        }
    }

    private static PdfDocument? Open(Stream input, out string? failure)
    {
        try
        {
            failure = null;
            return PdfReader.Open(input, PdfDocumentOpenMode.Modify);
        }
#pragma warning disable CA1031 // A third-party parser of untrusted input: any failure means "serve it unchanged".
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            failure = ex.GetType().Name;
            return null;
        }
    }

    /// <summary>
    /// A PDF literal string in WinAnsi: printable ASCII and Latin-1 letters as they are, anything else
    /// as <c>?</c>; <c>(</c>, <c>)</c> and <c>\</c> escaped.
    /// </summary>
    public static byte[] Literal(string text)
    {
        var bytes = new List<byte>(text.Length + 8) { (byte)'(' };
        foreach (var c in text)
        {
            var code = c is (>= ' ' and <= '~') or (>= '\u00A0' and <= '\u00FF') ? (byte)c : (byte)'?';
            if (code is (byte)'(' or (byte)')' or (byte)'\\')
            {
                bytes.Add((byte)'\\');
            }

            bytes.Add(code);
        }

        bytes.Add((byte)')');
        return [.. bytes];
    }

    private static PdfReference Font(PdfDocument document)
    {
        var font = new PdfDictionary(document);
        font.Elements["/Type"] = new PdfName("/Font");
        font.Elements["/Subtype"] = new PdfName("/Type1");
        font.Elements["/BaseFont"] = new PdfName("/Helvetica");
        font.Elements["/Encoding"] = new PdfName("/WinAnsiEncoding");
        document.Internals.AddObject(font);
        return font.Reference!;
    }

    private static PdfReference TransparentState(PdfDocument document)
    {
        var state = new PdfDictionary(document);
        state.Elements["/Type"] = new PdfName("/ExtGState");
        state.Elements["/ca"] = new PdfReal(0.35);
        state.Elements["/CA"] = new PdfReal(0.35);
        document.Internals.AddObject(state);
        return state.Reference!;
    }

    private static void StampPage(PdfPage page, PdfReference font, PdfReference state, byte[] literal, int length)
    {
        Resource(page, "/Font", FontName, font);
        Resource(page, "/ExtGState", StateName, state);
        var box = page.MediaBox;
        var (x, y, width, height) = (box.X1, box.Y1, box.Width, box.Height);

        // Helvetica's mixed text averages a bit over half an em per character; the stamp fits the page's diagonal and its bottom edge.
        var diagonal = Math.Sqrt((width * width) + (height * height));
        var bigSize = Math.Clamp(diagonal * 0.75 / (Math.Max(length, 1) * AverageWidth), 6, 48);
        var smallSize = Math.Clamp((width - 24) / (Math.Max(length, 1) * AverageWidth), 4, 9);
        var angle = Math.Atan2(height, width);
        var (cos, sin) = (Math.Cos(angle), Math.Sin(angle));
        var textLength = length * bigSize * AverageWidth;
        var startX = x + (width / 2) - (cos * textLength / 2) + (sin * bigSize / 3);
        var startY = y + (height / 2) - (sin * textLength / 2) - (cos * bigSize / 3);

        using var ops = new MemoryStream();
        Write(ops, $"q {StateName} gs 0.5 0.5 0.5 rg 0.5 0.5 0.5 RG\n");
        Write(ops, $"BT {FontName} {N(bigSize)} Tf {N(cos)} {N(sin)} {N(-sin)} {N(cos)} {N(startX)} {N(startY)} Tm ");
        ops.Write(literal);
        Write(ops, " Tj ET\n");
        Write(ops, $"BT {FontName} {N(smallSize)} Tf 1 0 0 1 {N(x + 12)} {N(y + 8)} Tm ");
        ops.Write(literal);
        Write(ops, " Tj ET\nQ\n");

        // The page's own drawing is wrapped in q … Q so whatever state it leaves cannot hide or move the stamp.
        page.Contents.PrependContent().CreateStream("q\n"u8.ToArray());
        page.Contents.AppendContent().CreateStream([.. "\nQ\n"u8, .. ops.ToArray()]);
    }

    private static void Resource(PdfPage page, string category, string name, PdfReference value)
    {
        var resources = page.Resources;
        var entries = resources.Elements.GetDictionary(category);
        if (entries is null)
        {
            entries = new PdfDictionary(page.Owner);
            resources.Elements[category] = entries;
        }

        entries.Elements[name] = value;
    }

    private static void Write(Stream stream, string ascii) => stream.Write(Encoding.ASCII.GetBytes(ascii));

    private static string N(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>
/// Stamps a PNG or JPEG: a semi-transparent dark band along the bottom with the text in a built-in
/// 5×7 bitmap font, scaled by a whole factor to the image's width; re-encoded in the same format.
/// </summary>
internal static class ImageStamp
{
    public static WatermarkOutcome Apply(byte[] content, string kind, string text)
    {
        try
        {
            var info = Image.Identify(content, out var format);
            if (info is null || format is null)
            {
                return WatermarkOutcome.Unchanged(content, kind, "the image could not be read");
            }

            if ((long)info.Width * info.Height > Watermarks.MaxImagePixels)
            {
                return WatermarkOutcome.Unchanged(content, kind, "the image has too many pixels to stamp");
            }

            using var image = Image.Load<Rgba32>(content, out format);
            // What a viewer shows as "bottom" is after the EXIF orientation.
            image.Mutate(i => i.AutoOrient());
            Draw(image, text);
            using var output = new MemoryStream();
            image.Save(output, Encoder(format));
            return new WatermarkOutcome(output.ToArray(), kind, null);
        }
#pragma warning disable CA1031 // A third-party decoder of untrusted input: any failure means "serve it unchanged".
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            return WatermarkOutcome.Unchanged(content, kind, $"the image could not be read ({ex.GetType().Name})");
        }
    }

    private static IImageEncoder Encoder(IImageFormat format) =>
        format is JpegFormat ? new JpegEncoder { Quality = 90 } : new PngEncoder();

    /// <summary>The band and the text, drawn into the image's bottom rows.</summary>
    public static void Draw(Image<Rgba32> image, string text)
    {
        var glyphs = BitmapFont.Printable(text);
        var scale = Math.Max(1, Math.Min(image.Width / ((glyphs.Length * BitmapFont.Advance) + 4), image.Height / 48));
        var bandHeight = Math.Min(image.Height, (BitmapFont.Height + 4) * scale);
        var top = image.Height - bandHeight;
        for (var y = top; y < image.Height; y++)
        {
            for (var x = 0; x < image.Width; x++)
            {
                image[x, y] = Blend(image[x, y], 0, 0.55f);
            }
        }

        var fits = Math.Max(0, (image.Width - (2 * scale)) / (BitmapFont.Advance * scale));
        var penX = 2 * scale;
        var penY = top + (2 * scale);
        foreach (var c in glyphs.AsSpan(0, Math.Min(glyphs.Length, fits)))
        {
            DrawGlyph(image, c, penX, penY, scale);
            penX += BitmapFont.Advance * scale;
        }
    }

    private static void DrawGlyph(Image<Rgba32> image, char c, int left, int top, int scale)
    {
        for (var row = 0; row < BitmapFont.Height; row++)
        {
            for (var column = 0; column < BitmapFont.Width; column++)
            {
                if (!BitmapFont.IsSet(c, column, row))
                {
                    continue;
                }

                for (var dy = 0; dy < scale; dy++)
                {
                    for (var dx = 0; dx < scale; dx++)
                    {
                        var (x, y) = (left + (column * scale) + dx, top + (row * scale) + dy);
                        if (x < image.Width && y < image.Height)
                        {
                            image[x, y] = Blend(image[x, y], 255, 0.85f);
                        }
                    }
                }
            }
        }
    }

    /// <summary>The pixel covered by grey level <paramref name="level"/> at <paramref name="opacity"/>; its own alpha is raised to at least the cover's.</summary>
    private static Rgba32 Blend(Rgba32 pixel, byte level, float opacity)
    {
        byte Mix(byte channel) => (byte)Math.Round((channel * (1 - opacity)) + (level * opacity));
        return new Rgba32(Mix(pixel.R), Mix(pixel.G), Mix(pixel.B), Math.Max(pixel.A, (byte)(opacity * 255)));
    }
}

/// <summary>A 5×7 bitmap font for printable ASCII; anything else is drawn as <c>?</c>.</summary>
internal static class BitmapFont
{
    public const int Width = 5;
    public const int Height = 7;
    public const int Advance = Width + 1;

    // Five column bytes per glyph from ' ' to '~', bit 0 the top row.
    private static readonly byte[] Columns = Convert.FromHexString(
        "0000000000" + "00005F0000" + "0007000700" + "147F147F14" + "242A7F2A12" + "2313086462" + "3649552250" + "0005030000" +
        "001C224100" + "0041221C00" + "082A1C2A08" + "08083E0808" + "0050300000" + "0808080808" + "0060600000" + "2010080402" +
        "3E5149453E" + "00427F4000" + "4261514946" + "2141454B31" + "1814127F10" + "2745454539" + "3C4A494930" + "0171090503" +
        "3649494936" + "064949291E" + "0036360000" + "0056360000" + "0008142241" + "1414141414" + "4122140800" + "0201510906" +
        "3249794136" + "7E1111117E" + "7F49494936" + "3E41414122" + "7F4141221C" + "7F49494941" + "7F09090101" + "3E41415132" +
        "7F0808087F" + "00417F4100" + "2040413F01" + "7F08142241" + "7F40404040" + "7F0204027F" + "7F0408107F" + "3E4141413E" +
        "7F09090906" + "3E4151215E" + "7F09192946" + "4649494931" + "01017F0101" + "3F4040403F" + "1F2040201F" + "7F2018207F" +
        "6314081463" + "0304780403" + "6151494543" + "00007F4141" + "0204081020" + "41417F0000" + "0402010204" + "4040404040" +
        "0001020400" + "2054545478" + "7F48444438" + "3844444420" + "384444487F" + "3854545418" + "087E090102" + "0C5252523E" +
        "7F08040478" + "00447D4000" + "2040443D00" + "007F102844" + "00417F4000" + "7C04180478" + "7C08040478" + "3844444438" +
        "7C14141408" + "081414187C" + "7C08040408" + "4854545420" + "043F444020" + "3C4040207C" + "1C2040201C" + "3C4030403C" +
        "4428102844" + "0C5050503C" + "4464544C44" + "0008364100" + "00007F0000" + "0041360800" + "0201020402");

    /// <summary>The text with every character the font lacks replaced by <c>?</c>.</summary>
    public static string Printable(string text) => string.Create(text.Length, text, (span, source) =>
    {
        for (var i = 0; i < source.Length; i++)
        {
            span[i] = source[i] is >= ' ' and <= '~' ? source[i] : '?';
        }
    });

    public static bool IsSet(char c, int column, int row) => (Columns[((c - ' ') * Width) + column] & (1 << row)) != 0;
}
