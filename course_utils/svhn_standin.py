"""An offline stand-in for SVHN: procedurally rendered house-number crops.

**This is not real SVHN.** Real SVHN (Netzer et al., 2011, "Reading Digits in Natural Images
with Unsupervised Feature Learning") holds 32x32 crops of house numbers photographed by
Google Street View. Where the real files cannot be had (an offline machine), the SVHN
chapters run on this stand-in, and every loader call says so.

How an image is made (all with a seeded NumPy generator, so a seed gives identical arrays):

1. a label (the centre digit, uniform over 0-9) and up to two neighbour digits on each side,
   drawn with one of the DejaVu / STIX / Computer Modern fonts that ship with matplotlib,
   sometimes with a thicker stroke;
2. an affine map (scale, slight rotation, shear, stretch, off-centre shift) that puts the
   centre digit in the middle of a 32x32 crop, so the neighbours show as partial distractor
   digits at the left and right edges, as in SVHN's cropped-digit format;
3. colours: dark digits on light walls or light digits on dark/coloured plates, with varied
   contrast, a gradient and low-frequency texture in the background, sometimes the edge of a
   plate, a drop shadow and uneven lighting;
4. camera effects: low resolution or blur, sensor noise and JPEG compression.

Outputs are uint8 arrays of shape (N, 32, 32, 3) with int64 labels 0-9. ``load(split, n)``
caches what it builds as ``.npz`` chunks in ``course_utils.files.cache_dir()``; the cache file
names hold the generator version, the split's seed and the chunk size, so a change to the
generator never serves stale images. Use ``course_utils.data.load_svhn`` in notebooks: it
picks real SVHN when present and prints which data a run used.
"""

import functools
import math
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from course_utils.files import atomic_write, cache_dir

GENERATOR_VERSION = 1  # part of the cache file names: bump it whenever the images change
IMAGE_SIZE = 32
SPLIT_SIZES = {"train": 73_257, "test": 26_032, "extra": 531_131}  # as in real SVHN
SPLIT_SEEDS = {"train": 0, "test": 1, "extra": 2}
CHUNK_SIZE = 4096  # images per cached file; asking for n images builds ceil(n / CHUNK_SIZE) chunks

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
    "cmr10.ttf", "cmss10.ttf", "cmb10.ttf",
)
_GLYPH_SIZE = 32  # font size of the glyphs; the affine map then scales them into the crop
_STROKES = (0, 0, 0, 1, 1, 2)  # extra stroke width in pixels, one drawn per image: some bolder digits
_BLOCK = 1024  # images rendered at once
_CANVAS_W, _CANVAS_H = 128, 64  # a little more than a 32x32 crop can see at the smallest scale
_glyphs = {}


def _glyph(font_id, digit, stroke):
    """A digit drawn once and kept: (grey mask uint8, bounding box relative to the text origin)."""
    key = (font_id, digit, stroke)
    if key not in _glyphs:
        font = ImageFont.truetype(str(_FONT_DIR / FONT_FILES[font_id]), _GLYPH_SIZE)
        box = font.getbbox(str(digit), stroke_width=stroke)
        image = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
        ImageDraw.Draw(image).text((-box[0], -box[1]), str(digit), 255, font,
                                   stroke_width=stroke, stroke_fill=255)
        _glyphs[key] = (np.asarray(image), box)
    return _glyphs[key]


def _paste(canvas, mask, x, y):
    """Draw ``mask`` onto ``canvas`` with its top-left corner at (x, y), clipped to the canvas."""
    x, y = int(round(x)), int(round(y))
    h, w = mask.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, _CANVAS_W), min(y + h, _CANVAS_H)
    if x1 > x0 and y1 > y0:
        region = canvas[y0:y1, x0:x1]
        np.maximum(region, mask[y0 - y:y1 - y, x0 - x:x1 - x], out=region)


def _digit_masks(rng, labels):
    """Each house number as a grey mask (n, 32, 32) in [0, 1], centred on the label digit."""
    n, size = len(labels), IMAGE_SIZE
    font_ids = rng.integers(0, len(FONT_FILES), n)
    strokes = rng.choice(_STROKES, n)
    neighbours = rng.integers(0, 10, (n, 4))  # two digits to the left, two to the right
    n_left = rng.choice([0, 1, 1, 2, 2, 2], n)
    n_right = rng.choice([0, 1, 1, 2, 2, 2], n)
    gaps = rng.uniform(-0.03, 0.25, n)  # space between digits, in digit heights
    heights = rng.uniform(0.6, 0.95, n) * size  # centre digit height in the crop
    angles = np.radians(np.clip(rng.normal(0, 4, n), -12, 12))
    shears = rng.uniform(-0.25, 0.25, n)
    stretch = rng.uniform(0.6, 1.1, n)  # glyph width / height
    shifts = np.clip(rng.normal(0, 0.04, (n, 2)), -0.1, 0.1) * size
    masks = np.empty((n, size, size), np.float32)
    for i in range(n):
        canvas = np.zeros((_CANVAS_H, _CANVAS_W), np.uint8)
        glyph, box = _glyph(font_ids[i], labels[i], strokes[i])
        # text origin so that the centre digit's box is centred on the canvas
        ox = (_CANVAS_W - box[0] - box[2]) / 2
        oy = (_CANVAS_H - box[1] - box[3]) / 2
        _paste(canvas, glyph, ox + box[0], oy + box[1])
        gap = gaps[i] * (box[3] - box[1])
        left, right = ox + box[0], ox + box[2]
        for k in range(n_left[i]):
            glyph, b = _glyph(font_ids[i], neighbours[i, k], strokes[i])
            x = left - gap - b[2]
            _paste(canvas, glyph, x + b[0], oy + b[1])
            left = x + b[0]
        for k in range(n_right[i]):
            glyph, b = _glyph(font_ids[i], neighbours[i, 2 + k], strokes[i])
            x = right + gap - b[0]
            _paste(canvas, glyph, x + b[0], oy + b[1])
            right = x + b[2]
        # crop point = A @ (canvas point - canvas centre) + crop centre; PIL wants the inverse map
        scale = heights[i] / (box[3] - box[1])
        cos, sin = math.cos(angles[i]), math.sin(angles[i])
        forward = scale * np.array([[cos, -sin], [sin, cos]]) @ np.array([[stretch[i], shears[i]], [0, 1]])
        inverse = np.linalg.inv(forward)
        offset = np.array([_CANVAS_W / 2, _CANVAS_H / 2]) - inverse @ (size / 2 + shifts[i])
        coeffs = (*inverse[0], offset[0], *inverse[1], offset[1])
        crop = Image.fromarray(canvas).transform(
            (size, size), Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR)
        masks[i] = np.asarray(crop, np.float32) / 255
    return masks


def _hsv_to_rgb(h, s, v):
    """Vectorised HSV -> RGB: arrays (n,) in [0, 1] -> (n, 3)."""
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack([
        np.stack([v, t, p], 1), np.stack([q, v, p], 1), np.stack([p, v, t], 1),
        np.stack([p, q, v], 1), np.stack([t, p, v], 1), np.stack([v, p, q], 1),
    ])
    return table[i, np.arange(len(h))]


def _colours(rng, n):
    """Background and digit colours (n, 3): dark digits on walls, or light digits on plates."""
    plate = rng.random(n) < 0.35
    # walls: beige, grey, blue-grey; plates: mostly navy, some brown, green, red (dark ones look black)
    wall_h = np.where(rng.random(n) < 0.6, rng.uniform(0.04, 0.14, n), rng.uniform(0.55, 0.7, n))
    plate_h = rng.choice([0.63, 0.63, 0.63, 0.6, 0.07, 0.4, 0.0], n) + rng.normal(0, 0.02, n)
    bg_h = np.where(plate, plate_h, wall_h) % 1
    bg_s = np.where(plate, rng.uniform(0.2, 0.8, n), rng.uniform(0, 0.45, n) ** 2)
    bg_v = np.where(plate, rng.uniform(0.12, 0.5, n), rng.uniform(0.5, 0.92, n))
    fg_h = np.where(rng.random(n) < 0.7, rng.uniform(0.58, 0.75, n), rng.random(n))
    fg_s = np.where(plate, rng.uniform(0, 0.15, n), rng.uniform(0.05, 0.5, n))
    fg_v = np.where(plate, rng.uniform(0.7, 1.0, n), rng.uniform(0.05, 0.45, n))
    bg = _hsv_to_rgb(bg_h, bg_s, bg_v)
    fg = _hsv_to_rgb(fg_h, fg_s, fg_v)
    # digits lighter than plates / darker than walls; some faded towards the background, but
    # always with a brightness contrast of at least 0.12
    luma = np.array([0.299, 0.587, 0.114])
    weak = (np.abs((fg - bg) @ luma) < 0.2)[:, None]
    fg = np.where(weak & plate[:, None], 1 - 0.3 * (1 - fg), np.where(weak, 0.3 * fg, fg))
    contrast = np.abs((fg - bg) @ luma)
    fade = np.where(rng.random(n) < 0.3, rng.uniform(0.2, 0.6, n), 0.0)
    fade = np.clip(np.minimum(fade, 1 - 0.12 / np.maximum(contrast, 1e-6)), 0, None)[:, None]
    return bg, fg * (1 - fade) + bg * fade


def _smooth_field(rng, n, cells, size=IMAGE_SIZE):
    """Random low-frequency fields (n, size, size): a cells x cells grid, bilinearly upsampled."""
    up = _bilinear_up(cells, size)
    return up @ rng.normal(0, 1, (n, cells, cells)).astype(np.float32) @ up.T


def _compose(rng, masks):
    """Colour the masks (n, 32, 32) into images (n, 3, 32, 32) in [0, 1], channels first.

    Backgrounds get a gradient and low-frequency texture, sometimes the edge of a plate with
    the wall beyond it; some digits cast a drop shadow; then uneven lighting, a white-balance
    error and faded colours, as in a street photo.
    """
    n, size = len(masks), IMAGE_SIZE

    def per_image(values):  # (n,) or (n, 3) -> broadcastable against (n, 3, 32, 32)
        return np.asarray(values, np.float32).reshape(n, -1, 1, 1)

    bg, fg = (per_image(c) for c in _colours(rng, n))
    coords = np.arange(size, dtype=np.float32) / (size - 1) - 0.5
    angle = per_image(rng.uniform(0, 2 * np.pi, n))
    gradient = np.cos(angle) * coords[None, :] + np.sin(angle) * coords[:, None]  # (n, 1, 32, 32)
    texture = _smooth_field(rng, n, 5)[:, None] * per_image(rng.uniform(0, 0.1, n))
    background = bg * (1 + per_image(rng.uniform(0, 0.4, n)) * gradient + texture)
    wall = _hsv_to_rgb(rng.uniform(0.03, 0.7, n), rng.uniform(0, 0.3, n), rng.uniform(0.15, 0.85, n))
    wall = per_image(wall)
    x0, y0 = per_image(rng.uniform(-14, 4, (2, n)).T).transpose(1, 0, 2, 3)[:, :, None]
    x1, y1 = per_image(rng.uniform(28, 46, (2, n)).T).transpose(1, 0, 2, 3)[:, :, None]
    cols, rows = np.arange(size)[None, :], np.arange(size)[:, None]
    outside = (cols < x0) | (cols > x1) | (rows < y0) | (rows > y1)
    outside &= rng.random((n, 1, 1, 1)) < 0.3
    background = np.where(outside, wall, background)
    masks = masks[:, None]
    shadow = np.zeros_like(masks)
    shadow[..., 1:, 1:] = masks[..., :-1, :-1] * per_image((rng.random(n) < 0.2) * rng.uniform(0.3, 0.7, n))
    images = background * (1 - shadow)
    digit = fg * (1 + per_image(rng.uniform(-0.3, 0.3, n)) * gradient)
    images += (digit - images) * masks
    images *= 1 + per_image(rng.uniform(0, 0.35, n)) * gradient
    images *= per_image(1 + rng.normal(0, 0.05, (n, 3)))
    images += (images.mean(1, keepdims=True) - images) * per_image(rng.uniform(0, 0.5, n))
    return np.clip(images, 0, 1)


def _bilinear_up(k, size=IMAGE_SIZE):
    """Matrix (size, k) that resizes a length-k signal to length ``size`` by linear interpolation."""
    m = np.zeros((size, k), np.float32)
    pos = np.clip((np.arange(size) + 0.5) * k / size - 0.5, 0, k - 1)
    lo = np.minimum(np.floor(pos).astype(int), k - 2)
    m[np.arange(size), lo] = 1 - (pos - lo)
    m[np.arange(size), lo + 1] = pos - lo
    return m


def _box_down(k, size=IMAGE_SIZE):
    """Matrix (k, size) that shrinks a length-``size`` signal to length k by area averaging."""
    edges = np.arange(k + 1) * size / k
    pixels = np.arange(size)
    overlap = np.clip(np.minimum(edges[1:, None], pixels + 1) - np.maximum(edges[:-1, None], pixels), 0, None)
    return (overlap / overlap.sum(1, keepdims=True)).astype(np.float32)


def _optics(rng, n, size=IMAGE_SIZE):
    """Per-image blur matrices (n, size, size): a low-resolution original and/or a Gaussian blur."""
    sides = rng.integers(10, 2 * size, n)  # side of the original photo crop; >= size means sharp
    sigmas = np.where(rng.random(n) < 0.7, rng.uniform(0.4, 1.6, n), 0.05)
    pixels = np.arange(size)
    gauss = np.exp(-((pixels[:, None] - pixels[None, :]) ** 2)[None] / (2 * sigmas[:, None, None] ** 2))
    gauss = np.where(gauss < 1e-4, 0, gauss / gauss.sum(2, keepdims=True)).astype(np.float32)
    return gauss @ _resample_matrices()[np.minimum(sides, size) - 10]


@functools.cache
def _resample_matrices(size=IMAGE_SIZE):
    """Stack of (size, size) matrices: shrink to side k = 10 .. size-1, enlarge back; then identity."""
    low_res = [_bilinear_up(k) @ _box_down(k) for k in range(10, size)]
    return np.stack(low_res + [np.eye(size, dtype=np.float32)])


# JPEG's standard luminance / chrominance quantisation tables (ITU-T T.81, Annex K)
_Q_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float32).reshape(8, 8)
_Q_CHROMA = np.full((8, 8), 99, np.float32)
_Q_CHROMA[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]
_DCT = np.array([[math.sqrt((1 if k == 0 else 2) / 8) * math.cos((2 * x + 1) * k * math.pi / 16)
                  for x in range(8)] for k in range(8)], np.float32)


def _quantise_blocks(plane, tables):
    """JPEG's lossy step on (n, H, W) planes: 8x8 DCT, round to the per-image tables, inverse DCT."""
    n, h, w = plane.shape
    blocks = plane.reshape(n, h // 8, 8, w // 8, 8).transpose(0, 1, 3, 2, 4)
    coeffs = _DCT @ blocks @ _DCT.T
    coeffs = np.round(coeffs / tables[:, None, None]) * tables[:, None, None]
    return (_DCT.T @ coeffs @ _DCT).transpose(0, 1, 3, 2, 4).reshape(n, h, w)


def _jpeg_like(rng, images):
    """JPEG-style softness on (n, 3, 32, 32) RGB in [0, 255]: colour subsampling, DCT quantisation."""
    n = len(images)
    quality = rng.uniform(30, 90, n)
    scale = np.where(quality < 50, 5000 / quality, 200 - 2 * quality)[:, None, None] / 100
    luma_q = np.maximum(np.floor(_Q_LUMA * scale + 0.5), 1).astype(np.float32)
    chroma_q = np.maximum(np.floor(_Q_CHROMA * scale + 0.5), 1).astype(np.float32)
    r, g, b = images[:, 0], images[:, 1], images[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    y = _quantise_blocks(y - 128, luma_q) + 128
    half, up = _box_down(IMAGE_SIZE // 2), _bilinear_up(IMAGE_SIZE // 2)
    cb, cr = (up @ _quantise_blocks(half @ c @ half.T, chroma_q) @ up.T for c in (cb, cr))
    return np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)


def _camera(rng, images):
    """Blur or low resolution, sensor noise, JPEG-like compression: (n, 3, 32, 32) -> uint8 (n, 32, 32, 3)."""
    n = len(images)
    optics = _optics(rng, n)[:, None]  # one matrix per image, shared by its three channels
    images = optics @ images @ optics.transpose(0, 1, 3, 2) * 255
    noise = rng.standard_normal(images.shape, np.float32)
    images += noise * rng.uniform(0, 8, (n, 1, 1, 1)).astype(np.float32)
    images = _jpeg_like(rng, np.clip(images, 0, 255))
    return np.clip(np.round(images), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def render(n, seed=0):
    """Render ``n`` stand-in images: uint8 (n, 32, 32, 3) and int64 labels (n,) in 0..9.

    ``seed`` is anything ``np.random.default_rng`` takes (an int or a list of ints); the same
    seed gives identical arrays. Nothing is cached: ``load`` does that.
    """
    rng = np.random.default_rng(seed)
    images = [np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)]
    labels = [np.zeros(0, np.int64)]
    for start in range(0, n, _BLOCK):  # blocks keep the arrays small enough for the CPU caches
        block_labels = rng.integers(0, 10, min(_BLOCK, n - start))
        masks = _digit_masks(rng, block_labels)
        images.append(_camera(rng, _compose(rng, masks)))
        labels.append(block_labels)
    return np.concatenate(images), np.concatenate(labels).astype(np.int64)


def _chunk_path(split, index):
    """Cache file of one chunk; its name holds everything that decides its contents."""
    name = f"v{GENERATOR_VERSION}-{split}-seed{SPLIT_SEEDS[split]}-chunk{CHUNK_SIZE}-{index:03d}.npz"
    return cache_dir() / "svhn-standin" / name


def _build_chunk(split, index, path):
    """Render one chunk and save it atomically: two runs building the same chunk do not collide."""
    size = min(CHUNK_SIZE, SPLIT_SIZES[split] - index * CHUNK_SIZE)
    images, labels = render(size, seed=[SPLIT_SEEDS[split], index])
    with atomic_write(path, "wb") as f:
        np.savez(f, images=images, labels=labels)


def load(split="train", n=None):
    """The first ``n`` stand-in images of ``split``: uint8 (n, 32, 32, 3), int64 labels (n,).

    Splits have the sizes of real SVHN (``SPLIT_SIZES``; ``n=None`` means all) and different
    seeds. Images are built chunk by chunk (``CHUNK_SIZE``), only as many chunks as ``n``
    needs, and cached; a later call reads the cache, so asking for more only builds the rest.
    """
    if split not in SPLIT_SIZES:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(SPLIT_SIZES)}.")
    total = SPLIT_SIZES[split]
    n = total if n is None else n
    if not 0 <= n <= total:
        raise ValueError(f"n={n} is outside 0..{total}: the stand-in {split} split has {total:,} images.")
    paths = [_chunk_path(split, i) for i in range(math.ceil(n / CHUNK_SIZE))]
    missing = [i for i, path in enumerate(paths) if not path.exists()]
    if missing:
        count = sum(min(CHUNK_SIZE, total - i * CHUNK_SIZE) for i in missing)
        print(f"Rendering {count:,} SVHN stand-in images ({split}) once; "
              f"they are cached in {paths[0].parent}")
        for i in missing:
            _build_chunk(split, i, paths[i])
    images = [np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)]
    labels = [np.zeros(0, np.int64)]
    for path in paths:
        with np.load(path) as chunk:
            images.append(chunk["images"])
            labels.append(chunk["labels"])
    return np.concatenate(images)[:n], np.concatenate(labels)[:n]
