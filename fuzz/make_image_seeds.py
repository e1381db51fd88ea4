#!/usr/bin/python3
"""Writes the seeds of the image_decode fuzz target, fuzz/corpus/image_decode/:
small JPEG and PNG files in the forms common/image_codec.h reads (JPEG
baseline, progressive, grey, 4:2:0, 4:2:2 and 4:4:4, CMYK; PNG grey at 1, 2,
8 and 16 bits, grey+alpha, RGB, RGBA, 16-bit RGB, palette with a short PLTE,
interlaced) and headers declaring images at and past the target's pixel
limit (kMaxFuzzPixels, 1024 x 1024) and at its transforms' (256 x 256), each
behind the target's 4 header bytes (resize and crop sizes,
fuzz/image_decode_target.cc). Needs Debian's python3-pil (PIL 9.4, the
library the decoders match); PIL writes the JPEGs and the PNGs it can,
png() below the forms it cannot (interlaced, 16-bit RGB, short palettes).
Rerun after changing the list; every seed stays under 4 KB.
"""
import io
import os
import struct
import zlib

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus", "image_decode")
# Adam7: (x0, y0, dx, dy) of each pass.
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def header(resize_h, resize_w, crop_h, crop_w):
    """The target's header: each size s as the byte s - 1 (sizes 1..64)."""
    return bytes([resize_h - 1, resize_w - 1, crop_h - 1, crop_w - 1])


def pattern(width, height, channels):
    """Shading with an edge, as rows of channel tuples."""
    rows = []
    for y in range(height):
        row = []
        for x in range(width):
            edge = 200 if x > width // 2 else 30
            row.append(tuple((x * 37 + y * 11 + c * 70 + edge) % 256 for c in range(channels)))
        rows.append(row)
    return rows


def pil_image(mode, width, height):
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "CMYK": 4}[mode]
    image = Image.new(mode, (width, height))
    flat = [p if channels > 1 else p[0] for row in pattern(width, height, channels) for p in row]
    image.putdata(flat)
    return image


def saved(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(rows, depth, color_type, interlace=False, plte=None, size=None):
    """A PNG of `rows` (lists of sample tuples) at `depth` bits; `size`
    overrides the IHDR's (width, height) to declare what the data is not."""
    height, width = len(rows), len(rows[0])

    def packed(image):
        out = b""
        for row in image:
            samples = [s for p in row for s in p]
            if depth == 16:
                data = b"".join(struct.pack(">H", s) for s in samples)
            elif depth == 8:
                data = bytes(samples)
            else:
                per_byte = 8 // depth
                samples += [0] * (-len(samples) % per_byte)
                data = bytes(
                    sum(s << (depth * (per_byte - 1 - k)) for k, s in enumerate(samples[i:i + per_byte]))
                    for i in range(0, len(samples), per_byte))
            out += b"\0" + data
        return out

    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = [row[x0::dx] for row in rows[y0::dy]]
            if sub and sub[0]:
                raw += packed(sub)
    else:
        raw = packed(rows)
    w, h = size or (width, height)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if plte is not None:
        out += chunk(b"PLTE", plte)
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def with_jpeg_size(data, width, height):
    """A JPEG whose frame header (SOF0/SOF2) declares another size."""
    at = 2
    while at < len(data):
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            return data[:at + 5] + struct.pack(">HH", height, width) + data[at + 9:]
        at += 2 + length
    raise ValueError("no frame header")


def seeds():
    rgb = pil_image("RGB", 16, 12)
    grey = pil_image("L", 13, 9)
    yield "jpeg_baseline_420", header(8, 8, 6, 6), saved(rgb, "JPEG", quality=75, subsampling=2)
    yield "jpeg_422", header(20, 7, 24, 3), saved(rgb, "JPEG", quality=90, subsampling=1)
    yield "jpeg_444", header(3, 33, 3, 40), saved(rgb, "JPEG", quality=95, subsampling=0)
    yield "jpeg_progressive", header(12, 16, 12, 16), saved(rgb, "JPEG", progressive=True)
    yield "jpeg_grey", header(5, 64, 64, 1), saved(grey, "JPEG", quality=80)
    yield "jpeg_grey_progressive", header(1, 1, 2, 2), saved(grey, "JPEG", progressive=True)
    yield "jpeg_optimized_odd_size", header(4, 6, 9, 2), saved(
        pil_image("RGB", 7, 5), "JPEG", optimize=True)
    yield "jpeg_cmyk_refused", header(8, 8, 8, 8), saved(pil_image("CMYK", 8, 8), "JPEG")
    small = saved(pil_image("RGB", 8, 8), "JPEG", quality=50)
    yield "jpeg_declares_256x256", header(64, 3, 30, 30), with_jpeg_size(small, 256, 256)
    yield "jpeg_declares_1024x1024", header(2, 2, 2, 2), with_jpeg_size(small, 1024, 1024)
    yield "jpeg_declares_past_limit", header(2, 2, 2, 2), with_jpeg_size(small, 1025, 1024)
    yield "jpeg_truncated", header(8, 8, 8, 8), small[:len(small) * 2 // 3]

    yield "png_grey_8", header(9, 13, 4, 4), saved(grey, "PNG")
    yield "png_grey_alpha", header(6, 6, 10, 10), saved(pil_image("LA", 6, 5), "PNG")
    yield "png_rgb", header(16, 12, 5, 5), saved(rgb, "PNG")
    yield "png_rgba", header(3, 2, 3, 2), saved(pil_image("RGBA", 5, 7), "PNG")
    yield "png_palette", header(10, 10, 10, 10), saved(rgb.quantize(7), "PNG")
    yield "png_grey_16", header(7, 7, 7, 7), saved(
        Image.frombytes("I;16", (6, 4), bytes(range(0, 96, 2)) + bytes(range(1, 97, 2))), "PNG")
    yield "png_grey_2bit", header(4, 11, 2, 9), png(
        [[(x * y % 4,) for x in range(11)] for y in range(5)], 2, 0)
    yield "png_grey_1bit_interlaced", header(17, 9, 3, 3), png(
        [[((x ^ y) & 1,) for x in range(9)] for y in range(17)], 1, 0, interlace=True)
    yield "png_rgb_16", header(5, 5, 2, 2), png(
        [[(x * 4000, y * 9000, 65535 - x * y) for x in range(6)] for y in range(4)], 16, 2)
    yield "png_rgba_interlaced", header(11, 3, 11, 3), png(
        [list(r) for r in pattern(10, 9, 4)], 8, 6, interlace=True)
    yield "png_palette_4bit_short_plte", header(8, 3, 1, 8), png(
        [[((x + y) % 16,) for x in range(8)] for y in range(3)], 4, 3,
        plte=bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]))
    yield "png_declares_1024x1024", header(2, 2, 2, 2), png(
        pattern(4, 4, 3), 8, 2, size=(1024, 1024))
    yield "png_declares_past_limit", header(2, 2, 2, 2), png(
        pattern(4, 4, 3), 8, 2, size=(1024, 1025))
    yield "png_truncated", header(8, 8, 8, 8), saved(rgb, "PNG")[:-40]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, head, data in seeds():
        blob = head + data
        assert len(blob) < 4096, f"{name} is {len(blob)} bytes"
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)
        print(f"{name}: {len(blob)} bytes")


if __name__ == "__main__":
    main()
