"""PIL's answers for tests/common/image_{codec,transform}_test.cc.

Run by the tests as /usr/bin/python3 tests/common/image_oracle.py OUT_DIR.
Writes into OUT_DIR image files (JPEGs saved by PIL, PNGs saved by PIL or,
for the forms PIL cannot write, by png_bytes below), the pixels PIL decodes
from them, and PIL's resize and center-crop results, as raw uint8 HWC bytes,
listed in OUT_DIR/manifest.txt, one case a line:

  decode NAME FILE HEIGHT WIDTH       NAME.rgb: convert("RGB"), NAME.l: convert("L")
  resize NAME SOURCE HOW OUT_H OUT_W  NAME.out: SOURCE.raw resized (HOW: nearest,
                                      bilinear, bicubic)
  crop NAME SOURCE OUT_H OUT_W        NAME.out: torchvision's CenterCrop of SOURCE.raw
  source NAME HEIGHT WIDTH CHANNELS   NAME.raw: an input of the cases above

Exits 77 (and says why) when PIL or NumPy is missing, so the tests can skip.
"""
import struct
import sys
import warnings
import zlib

try:
    import numpy as np
    from PIL import Image
except ImportError as e:
    print(f"{e} (/usr/bin/python3 needs python3-pil and python3-numpy)")
    sys.exit(77)

# PIL warns that a palette with tRNS "should be converted to RGBA"; the
# palette_trns case is there to show the transparency is ignored.
warnings.simplefilter("ignore")
OUT = sys.argv[1]
manifest = []
rng = np.random.default_rng(20240611)


def photo(height, width):
    """A photo-like RGB image: smooth shading, edges and sensor noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    channels = []
    for k in range(3):
        c = 120 + 70 * np.sin(x / (9.0 + 3 * k) + k) * np.cos(y / (7.0 + 2 * k) - k)
        c += 40 * ((x // 17 + y // 13) % 2)  # hard edges: ringing and chroma bleed
        c += 25 * np.exp(-((x - width * 0.6) ** 2 + (y - height * 0.4) ** 2) / 200.0)
        channels.append(c)
    image = np.stack(channels, -1) + rng.normal(0, 12, (height, width, 3))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]  # (x0, y0, dx, dy) of each pass


def png_bytes(samples, depth, color_type, interlace=False, plte=None, trns=None):
    """A PNG of `samples` (H x W x channels integers) at `depth` bits."""
    height, width = samples.shape[:2]

    def packed_rows(image):
        rows = []
        for row in image:
            flat = row.reshape(-1).astype(np.uint32)
            if depth == 16:
                data = flat.astype(">u2").tobytes()
            elif depth == 8:
                data = flat.astype(np.uint8).tobytes()
            else:  # 1, 2 or 4 bits, leftmost sample in the high bits
                per_byte = 8 // depth
                padded = np.zeros(-(-len(flat) // per_byte) * per_byte, np.uint32)
                padded[:len(flat)] = flat
                groups = padded.reshape(-1, per_byte)
                shifts = depth * np.arange(per_byte - 1, -1, -1, dtype=np.uint32)
                data = (groups << shifts).sum(1).astype(np.uint8).tobytes()
            rows.append(b"\0" + data)
        return b"".join(rows)

    if interlace:
        raw = b"".join(packed_rows(samples[y0::dy, x0::dx]) for x0, y0, dx, dy in ADAM7
                       if samples[y0::dy, x0::dx].size)
    else:
        raw = packed_rows(samples)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, int(interlace))
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if plte is not None:
        out += png_chunk(b"PLTE", plte)
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    return out + png_chunk(b"IDAT", zlib.compress(raw, 6)) + png_chunk(b"IEND", b"")


def add_decode(name, filename):
    image = Image.open(f"{OUT}/{filename}")
    rgb = np.asarray(image.convert("RGB"))
    np.ascontiguousarray(rgb).tofile(f"{OUT}/{name}.rgb")
    np.ascontiguousarray(np.asarray(image.convert("L"))).tofile(f"{OUT}/{name}.l")
    manifest.append(f"decode {name} {filename} {rgb.shape[0]} {rgb.shape[1]}")


def save_with_pil(name, image, filename, **options):
    image.save(f"{OUT}/{filename}", **options)
    add_decode(name, filename)


def save_crafted(name, data, filename):
    with open(f"{OUT}/{filename}", "wb") as f:
        f.write(data)
    add_decode(name, filename)


# --- Decoding -------------------------------------------------------------
rgb = photo(97, 131)
base = Image.fromarray(rgb)
grey = base.convert("L")
save_with_pil("jpeg_420", base, "q90_420.jpg", quality=90, subsampling=2)
save_with_pil("jpeg_444", base, "q90_444.jpg", quality=90, subsampling=0)
save_with_pil("jpeg_progressive", base, "progressive.jpg", quality=90, progressive=True)
save_with_pil("jpeg_grey", grey, "grey.jpg", quality=90)

alpha = Image.fromarray(rng.integers(0, 256, (97, 131), dtype=np.uint8))
save_with_pil("png_L", grey, "grey.png")
save_with_pil("png_LA", Image.merge("LA", [grey, alpha]), "grey_alpha.png")
save_with_pil("png_RGB", base, "rgb.png")
save_with_pil("png_RGBA", Image.merge("RGBA", [*base.split(), alpha]), "rgba.png")
save_with_pil("png_P", base.convert("P", palette=Image.ADAPTIVE, colors=200), "palette.png")
# 16-bit grey spanning 0..1000: PIL clips, so values above 255 must read 255.
wide = rng.integers(0, 1000, (37, 53)).astype(np.uint16)
save_with_pil("png_I16", Image.fromarray(wide), "grey16.png")

# Forms PIL cannot write: interlaced (Adam7) PNGs, 16-bit colour, grey below
# 8 bits, and a palette whose PLTE is shorter than the indices used.
small = rgb[:29, :23]
save_crafted("png_interlaced_rgb", png_bytes(small, 8, 2, interlace=True), "interlaced.png")
# The writer's check: PIL reads an interlaced file and the pixels put in.
check = Image.open(f"{OUT}/interlaced.png")
assert check.info.get("interlace") == 1 and (np.asarray(check) == small).all()
rgba16 = rng.integers(0, 65536, (29, 23, 4))
save_crafted("png_interlaced_rgba16", png_bytes(rgba16, 16, 6, interlace=True),
             "interlaced_rgba16.png")
save_crafted("png_rgb16", png_bytes(rng.integers(0, 65536, (13, 11, 3)), 16, 2), "rgb16.png")
save_crafted("png_la16", png_bytes(rng.integers(0, 65536, (13, 11, 2)), 16, 4), "la16.png")
save_crafted("png_grey1", png_bytes(rng.integers(0, 2, (9, 21, 1)), 1, 0), "grey1.png")
save_crafted("png_grey2", png_bytes(rng.integers(0, 4, (9, 21, 1)), 2, 0, interlace=True),
             "grey2.png")
save_crafted("png_palette4_short",
             png_bytes(rng.integers(0, 16, (9, 21, 1)), 4, 3,
                       plte=bytes([10, 20, 30, 200, 100, 50, 1, 2, 3])), "palette4.png")
save_crafted("png_palette_trns",
             png_bytes(rng.integers(0, 3, (9, 21, 1)), 8, 3,
                       plte=bytes([10, 20, 30, 200, 100, 50, 1, 2, 3]), trns=bytes([0, 128])),
             "palette_trns.png")
save_crafted("png_grey_trns", png_bytes(rng.integers(0, 256, (9, 21, 1)), 8, 0,
                                        trns=struct.pack(">H", 7)), "grey_trns.png")

# --- Transforms -----------------------------------------------------------
FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def add_source(name, array):
    np.ascontiguousarray(array).tofile(f"{OUT}/{name}.raw")
    height, width = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[2]
    manifest.append(f"source {name} {height} {width} {channels}")
    return Image.fromarray(array)


def add_resize(source_name, image, out_h, out_w):
    for how, pil_filter in FILTERS.items():
        name = f"resize_{source_name}_{how}_{out_h}x{out_w}"
        np.asarray(image.resize((out_w, out_h), pil_filter)).tofile(f"{OUT}/{name}.out")
        manifest.append(f"resize {name} {source_name} {how} {out_h} {out_w}")


def center_crop(image, out_h, out_w):
    """torchvision's CenterCrop((out_h, out_w)) on a PIL image, as written in
    torchvision 0.14's functional.center_crop: zero padding where the image is
    smaller, then Python's round() (halves to even) for the top-left corner."""
    width, height = image.size
    if out_w > width or out_h > height:
        left = (out_w - width) // 2 if out_w > width else 0
        top = (out_h - height) // 2 if out_h > height else 0
        padded = Image.new(image.mode, (width + max(0, out_w - width),
                                        height + max(0, out_h - height)))
        padded.paste(image, (left, top))
        image = padded
        width, height = image.size
    top = int(round((height - out_h) / 2.0))
    left = int(round((width - out_w) / 2.0))
    return image.crop((left, top, left + out_w, top + out_h))


def add_crop(source_name, image, out_h, out_w):
    name = f"crop_{source_name}_{out_h}x{out_w}"
    np.asarray(center_crop(image, out_h, out_w)).tofile(f"{OUT}/{name}.out")
    manifest.append(f"crop {name} {source_name} {out_h} {out_w}")


photo_rgb = add_source("photo_rgb", rgb)
photo_grey = add_source("photo_grey", np.asarray(grey))
wide_photo = add_source("wide_rgb", photo(224, 300))
for source_name, image in (("photo_rgb", photo_rgb), ("photo_grey", photo_grey)):
    add_resize(source_name, image, 32, 45)  # down by 3.03 x 2.91
    add_resize(source_name, image, 97, 50)  # the width only
    add_resize(source_name, image, 250, 301)  # up by 2.58 x 2.30
    add_resize(source_name, image, 60, 170)  # down one way, up the other
    add_crop(source_name, image, 64, 64)  # odd excess: 33 and 67
    add_crop(source_name, image, 96, 128)  # excess 1 and 3: round half to even
    add_crop(source_name, image, 120, 140)  # larger: padded on both axes
    add_crop(source_name, image, 50, 200)  # cropped one way, padded the other
# Resize(256) of a 224 x 300 image: 256 x 342, then CenterCrop(224).
add_resize("wide_rgb", wide_photo, 256, 342)
add_crop("wide_rgb", wide_photo, 224, 224)

with open(f"{OUT}/manifest.txt", "w") as f:
    f.write("\n".join(manifest) + "\n")
