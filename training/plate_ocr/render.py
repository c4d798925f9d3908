"""Renders licence plate crops as a lane camera's plate finder hands them to
the reader: the plate (US states, EU countries, Brazil old grey and
Mercosul) in the fonts Debian packages the project already installs, on a
car, warped, blurred, noisy, dimmed, cropped loosely. No photographs.

Every sample is a pure function of (seed, index): training, validation and
the C++ test's held-back set differ only in their seed.
"""

import functools
import glob
import io
import math
import os

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # class 0 is the CTC blank
INPUT_H, INPUT_W = 48, 160
REGIONS = ("us", "eu", "br")
# The data recipe. 3 added fixed-pitch plates (wide letters squeezed into the
# digits' cell, as California's M and W, Slovakia's M), M and W whose middle
# vertex stops part-way, and the left coat of arms of Slovak and Czech plates
# without the EU band; 4 writes US plates' letter O as the digit 0; 5 puts
# what US plates carry at the ends of their row (a month or year sticker
# with its digits, a wheelchair symbol, stacked letters such as DP or DV, a
# cactus, a state's shape) beside the characters. Every draw a newer
# recipe adds is behind its number, so an older recipe renders exactly what
# it rendered before (train.py --recipe; the retrain script's phases).
LATEST_RECIPE = 5
RECIPE = LATEST_RECIPE

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"


def _fonts(patterns):
    out = []
    for p in patterns:
        out.extend(sorted(glob.glob(p)))
    return out


PLATE_FONTS = _fonts([
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/Roboto-Bold.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/Roboto-Medium.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Medium.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Regular.ttf",
    "/usr/share/fonts/opentype/bebas-neue/BebasNeue-Bold.otf",
    "/usr/share/fonts/opentype/bebas-neue/BebasNeue-Book.otf",
    "/usr/share/fonts/truetype/opendin/OSP-DIN.ttf",
    "/usr/share/fonts/truetype/paratype/PTN57F.ttf",
    "/usr/share/fonts/truetype/paratype/PTN77F.ttf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSans-Bold.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Bold.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Bold.otf",
    "/usr/share/fonts/opentype/urw-base35/URWGothic-Demi.otf",
    # Real plates' strokes are often thinner than a bold face's.
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/Roboto-Regular.ttf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Regular.otf",
    "/usr/share/fonts/opentype/bebas-neue/BebasNeue-Regular.otf",
    "/usr/share/fonts/opentype/urw-base35/URWGothic-Book.otf",
    "/usr/share/fonts/truetype/paratype/PTS55F.ttf",
])
# Plates of the EU and Mercosul are in DIN-like narrow fonts.
NARROW_FONTS = [f for f in PLATE_FONTS if any(
    k in f for k in ("DIN", "Narrow", "Condensed", "PTN", "Bebas"))]
SCRIPT_FONTS = _fonts([
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-BoldItalic.ttf",
    "/usr/share/fonts/opentype/urw-base35/C059-BdIta.otf",
    "/usr/share/fonts/opentype/urw-base35/Z003-MediumItalic.otf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-BoldItalic.ttf",
]) or PLATE_FONTS
if not PLATE_FONTS:
    raise SystemExit("no plate fonts: run scripts/install-deps.sh")

US_STATES = ["CALIFORNIA", "TEXAS", "NEW YORK", "FLORIDA", "ILLINOIS",
             "OHIO", "GEORGIA", "MICHIGAN", "ARIZONA", "NEVADA", "OREGON",
             "WASHINGTON", "COLORADO", "VIRGINIA", "MARYLAND", "NEW JERSEY",
             "PENNSYLVANIA", "MASSACHUSETTS", "INDIANA", "Tennessee",
             "Kentucky", "Alabama", "Louisiana", "Minnesota", "Wisconsin",
             "Missouri", "Iowa", "Utah", "Idaho", "Montana", "Maine"]
SLOGANS = ["DMV.CA.GOV", "THE LONE STAR STATE", "EMPIRE STATE", "SUNSHINE STATE",
           "LAND OF LINCOLN", "PURE MICHIGAN", "GRAND CANYON STATE",
           "LIVE FREE OR DIE", "GARDEN STATE", "visitPA.com", "IN GOD WE TRUST",
           "Great Lakes", "10,000 LAKES", "SPORTSMAN'S PARADISE", "WILD WONDERFUL",
           "COUNTY", "FAMOUS POTATOES", "America's Dairyland", ""]
US_FORMATS = ["DLLLDDD", "LLLDDDD", "LLL-DDDD", "DDD LLL", "LLL DDD", "LLL-DDD",
              "DLLDDD", "LLDDDDD", "DDDDDD", "LLLLDD", "DDLLLL", "LLDDLL",
              "DDDLLL", "LLL DDDD", "DLL DDDD", "LL DDDDD", "DDD DDD",
              "LDDLLL", "DDDD", "LLLLL", "?????", "??????", "???????",
              "????????", "LL-DDDD", "DDD-LLLL", "LDDDDDD",
              # Two groups with a picture between them, as many states print.
              "??? ???", "?? ????", "??? ????", "DLL DLL", "LLD LDL", "DDD ?LL", "DD ?DD?"]
EU_COUNTRIES = [  # (band code, formats, yellow background share)
    ("D", ["L LL DDDD", "LL L DDD", "LLL LL DD", "L L DDDD", "LL LL DDDD"], 0),
    ("F", ["LL-DDD-LL"], 0), ("I", ["LL DDDLL", "LL DDD LL"], 0),
    ("E", ["DDDD LLL"], 0), ("NL", ["LL-DDD-L", "DD-LLL-D", "L-DDD-LL",
                                     "LLL-DD-L", "DD-LL-LL"], 0.9),
    ("PL", ["LL DDDDD", "LLL DDDLL", "LL DDDLL"], 0),
    ("CZ", ["DLD DDDD", "DLL DDDD", "DLD DD-DD"], 0),
    ("SK", ["LL DDDLL", "LL-DDDLL", "LL DDDLL"], 0),
    ("HR", ["LL DDD-LL", "LL DDDD-L"], 0), ("SRB", ["LL DDD-LL", "LL DDDD-LL"], 0),
    ("GB", ["LLDD LLL"], 0.5), ("B", ["D-LLL-DDD"], 0), ("A", ["L DDDDL", "LL DDDLL"], 0),
    ("H", ["LLL-DDD"], 0), ("RO", ["LL DD LLL", "L DDD LLL"], 0),
    ("BG", ["LL DDDD LL"], 0), ("SLO", ["LL LL-DDD"], 0), ("P", ["LL-DD-LL"], 0),
    ("LT", ["LLL DDD"], 0), ("S", ["LLL DDL", "LLL DDD"], 0),
]
BR_CITIES = ["SP - SAO PAULO", "RJ - RIO DE JANEIRO", "MG - BELO HORIZONTE",
             "PR - CURITIBA", "RS - PORTO ALEGRE", "BA - SALVADOR", "SC - JOINVILLE"]


@functools.lru_cache(maxsize=None)
def _font(path, size):
    return ImageFont.truetype(path, size)


@functools.lru_cache(maxsize=8192)
def _text_mask(text, font_path, weight=0, size=96):
    """The text's ink as an 8-bit mask cut to its ink box; weight > 0 makes
    its strokes bolder by that many pixels a side (at size 96), < 0 thinner."""
    if weight:
        m = _text_mask(text, font_path, 0, size)
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(weight) + 1,) * 2)
        m = np.pad(m, abs(weight) + 1)
        base = int((m > 127).sum())
        m = cv2.dilate(m, k) if weight > 0 else cv2.erode(m, k)
        ys, xs = np.nonzero(m > 20)
        if len(xs) == 0 or (m > 127).sum() < 0.45 * base:  # a thin face worn away
            return _text_mask(text, font_path, 0, size)
        return m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    font = _font(font_path, size)
    l, t, r, b = font.getbbox(text)
    img = Image.new("L", (max(1, r - l + 4), max(1, b - t + 4)), 0)
    ImageDraw.Draw(img).text((2 - l, 2 - t), text, font=font, fill=255)
    m = np.asarray(img)
    ys, xs = np.nonzero(m > 20)
    if len(xs) == 0:
        return np.zeros((8, 8), np.uint8)
    return m[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


@functools.lru_cache(maxsize=512)
def _short_vertex_mask(char, font_path, weight, depth, slanted):
    """An M whose V stops at `depth` of the height, or a W whose middle
    apex rises only to 1 - depth, at the font's stroke width: many plate
    fonts (California's, Slovakia's) draw them so, and at a camera's
    resolution such an M is one stroke short of an H. `slanted` W: outer
    strokes leaning in, as California's."""
    m = _text_mask(char, font_path, weight)
    h, w = m.shape
    row = m[h // 4] > 127  # a quarter down: the left stroke's width
    sw = int(np.argmin(row[np.argmax(row):])) if row.any() else max(2, w // 8)
    sw = max(2, min(sw, w // 4))
    out = np.zeros((h, w), np.uint8)
    mid, low = w / 2, depth * h
    half = sw / 2
    if char == "M":
        strokes = [((half, 0), (half, h)), ((w - half, 0), (w - half, h)),
                   ((half, 0), (mid, low)), ((w - half, 0), (mid, low))]
    else:
        foot = w * 0.22 if slanted else half
        strokes = [((half, 0), (foot, h)), ((w - half, 0), (w - foot, h)),
                   ((foot, h), (mid, h - low)), ((w - foot, h), (mid, h - low))]
    for (x0, y0), (x1, y1) in strokes:
        cv2.line(out, (int(x0 * 16), int(y0 * 16)), (int(x1 * 16), int(y1 * 16)), 255, sw,
                 cv2.LINE_AA, 4)
    return out


def _paste(canvas, mask, box, color):
    """Paints `color` through `mask` resized into box (x, y, w, h) of an
    HxWx3 float canvas."""
    x, y, w, h = [int(round(v)) for v in box]
    if w < 2 or h < 2:
        return
    m = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    m = m[y0 - y:y1 - y, x0 - x:x1 - x, None]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - m) + np.array(color, np.float32) * m


def _draw_text(canvas, text, font, box, color, align="center"):
    """Text fitted into box's height, squeezed into its width if longer."""
    mask = _text_mask(text, font)
    x, y, w, h = box
    natural = mask.shape[1] * h / mask.shape[0]
    tw = min(natural, w)
    tx = x + (w - tw) / 2 if align == "center" else x
    _paste(canvas, mask, (tx, y, tw, h), color)


def _fill(rng, fmt):
    out = []
    for c in fmt:
        if c == "L":
            out.append(rng.choice(list(LETTERS)))
        elif c == "D":
            out.append(rng.choice(list(DIGITS)))
        elif c == "?":
            out.append(rng.choice(list(LETTERS + DIGITS)))
        else:
            out.append(c)
    return "".join(out)


def _groups(shown):
    """Splits 'AB-123 CD' into groups and the separators between them."""
    groups, seps, cur = [], [], ""
    for c in shown:
        if c in " -.":
            if cur:
                groups.append(cur)
                seps.append(c)
                cur = ""
        else:
            cur += c
    if cur:
        groups.append(cur)
    return groups, seps[:max(0, len(groups) - 1)]


def _shield(canvas, x, y, w, h, rng):
    """A coat of arms between groups (Slovakia's, Croatia's): a shield with
    a lighter cross or chequers in it."""
    pts = np.int32([[x, y], [x + w, y], [x + w, y + h * 0.6], [x + w / 2, y + h],
                    [x, y + h * 0.6]])
    cv2.fillPoly(canvas, [pts], _color(rng, (40, 40, 200), 40), cv2.LINE_AA)
    light = _color(rng, (240, 240, 240), 15)
    if rng.random() < 0.6:  # a double cross
        cx = int(x + w / 2)
        cv2.line(canvas, (cx, int(y + h * 0.15)), (cx, int(y + h * 0.75)), light,
                 max(1, int(w * 0.15)))
        for fy in (0.3, 0.48):
            cv2.line(canvas, (int(x + w * 0.25), int(y + h * fy)),
                     (int(x + w * 0.75), int(y + h * fy)), light, max(1, int(w * 0.12)))
    else:  # chequers
        n = 4
        for i in range(n):
            for j in range(n):
                if (i + j) % 2:
                    cv2.rectangle(canvas, (int(x + w * i / n), int(y + h * 0.6 * j / n)),
                                  (int(x + w * (i + 1) / n), int(y + h * 0.6 * (j + 1) / n)),
                                  light, -1)


def _emblem(canvas, x, y, w, h, rng, color):
    """What US plates carry between their groups: a state's shape, a
    sticker, a heart or a small word, in any shade."""
    kind = rng.integers(5)
    col = _color(rng, (rng.uniform(30, 230),) * 3, 60) if rng.random() < 0.7 else color
    cx, cy = x + w / 2, y + h * rng.uniform(0.35, 0.65)
    ew, eh = w * rng.uniform(0.5, 1.0), h * rng.uniform(0.3, 0.8)
    if kind == 0:  # a shape
        pts = np.float32(rng.uniform(-0.5, 0.5, (7, 2))) * np.float32([ew, eh]) + \
            np.float32([cx, cy])
        cv2.fillPoly(canvas, [cv2.convexHull(pts.astype(np.int32))], col, cv2.LINE_AA)
    elif kind == 1:  # a sticker
        cv2.rectangle(canvas, (int(cx - ew / 2), int(cy - eh / 2)),
                      (int(cx + ew / 2), int(cy + eh / 2)), col, -1)
        if rng.random() < 0.5:
            _draw_text(canvas, "".join(rng.choice(list(LETTERS + DIGITS), 2)),
                       PLATE_FONTS[0], (cx - ew * 0.4, cy - eh * 0.3, ew * 0.8, eh * 0.6),
                       _color(rng, (250 - col[0],) * 3, 30))
    elif kind == 2:  # a round seal
        cv2.circle(canvas, (int(cx), int(cy)), max(1, int(min(ew, eh) / 2)), col, -1,
                   cv2.LINE_AA)
    elif kind == 3:  # a tiny stacked word (a county, a month)
        for k in range(2):
            _draw_text(canvas, "".join(rng.choice(list(LETTERS), 3)), PLATE_FONTS[0],
                       (cx - ew / 2, y + h * (0.15 + 0.4 * k), ew, h * 0.28), col)
    else:  # a blot of a picture
        cv2.ellipse(canvas, (int(cx), int(cy)), (max(1, int(ew / 2)), max(1, int(eh / 2))),
                    rng.uniform(0, 180), 0, 360, col, -1, cv2.LINE_AA)


def _draw_main(rng, canvas, shown, font, box, color, sep_style="text",
               badge_color=None):
    """The plate's characters, one by one with even spacing, in box; the
    separators as gaps, dashes, dots or badges (sep_style "emblem": US
    pictures, "shield": a coat of arms, "circles": inspection stickers).
    Returns the ink's left and right edge."""
    x, y, w, h = box
    groups, seps = _groups(shown)
    weight = int(rng.choice([-3, -2, -1, 0, 0, 0, 1, 2]))
    masks = [[_text_mask(c, font, weight) for c in g] for g in groups]
    if RECIPE >= 3:
        for g, ms in zip(groups, masks):
            for i, c in enumerate(g):
                if c in "MW" and rng.random() < 0.35:
                    ms[i] = _short_vertex_mask(c, font, weight,
                                               float(rng.choice([0.45, 0.55, 0.65, 0.75])),
                                               bool(rng.random() < 0.5))
    squeeze = rng.uniform(0.75, 1.15)
    widths = [[m.shape[1] * h / m.shape[0] * squeeze for m in g] for g in masks]
    # Digit-width cells for narrow glyphs (1, I) as fixed-pitch plate fonts do.
    ref = h * 0.55 * squeeze
    cells = [[max(wi, ref) if rng.random() < 0.7 else wi for wi in g] for g in widths]
    if RECIPE >= 3 and rng.random() < 0.5:
        # A fixed pitch: every glyph in one cell, wide letters (M, W) squeezed
        # into it, so a narrow M is told from an H by its inner strokes.
        pitch = ref * rng.uniform(1.0, 1.15)
        widths = [[min(wi, pitch) for wi in g] for g in widths]
        cells = [[pitch for _ in g] for g in widths]
    gap = h * rng.uniform(0.05, 0.16)
    sep_w = h * rng.uniform(0.25, 0.6)
    total = sum(sum(g) for g in cells) + gap * sum(len(g) - 1 for g in cells) + \
        (sep_w + 2 * gap) * len(seps)
    scale = min(1.0, w / total)
    cx = x + (w - total * scale) / 2
    left = cx
    for gi, g in enumerate(masks):
        for ci, m in enumerate(g):
            cw, gw = cells[gi][ci] * scale, widths[gi][ci] * scale
            _paste(canvas, m, (cx + (cw - gw) / 2, y, gw, h), color)
            cx += cw + (gap * scale if ci + 1 < len(g) else 0)
        if gi < len(seps):
            s = seps[gi]
            sx = cx + gap * scale
            sw = sep_w * scale
            if sep_style == "shield" and s in " -" and rng.random() < 0.8:
                sh = h * rng.uniform(0.45, 0.7)
                _shield(canvas, sx + sw * 0.1, y + (h - sh) * 0.4, min(sw * 0.8, sh * 0.8), sh,
                        rng)
            elif sep_style == "emblem" and s == " " and rng.random() < 0.7:
                _emblem(canvas, sx - gap * scale * 0.5, y, sw + gap * scale, h, rng, color)
            elif sep_style == "circles" and s == " " and rng.random() < 0.85:
                r = max(1, int(min(sw, h * 0.34) / 2))
                for fy, col in ((0.3, (200, 200, 200)), (0.7, (60, 60, 200))):
                    cv2.circle(canvas, (int(sx + sw / 2), int(y + h * fy)), r,
                               _color(rng, col, 50), -1, cv2.LINE_AA)
                    if rng.random() < 0.5:
                        cv2.circle(canvas, (int(sx + sw / 2), int(y + h * fy)), r, color, 1,
                                   cv2.LINE_AA)
            elif badge_color is not None and s == " " and rng.random() < 0.6:
                r = min(sw, h * 0.3) / 2
                cv2.circle(canvas, (int(sx + sw / 2), int(y + h * 0.35)), max(1, int(r)),
                           badge_color, -1, cv2.LINE_AA)
                cv2.circle(canvas, (int(sx + sw / 2), int(y + h * 0.7)), max(1, int(r)),
                           (60, 60, 200), -1, cv2.LINE_AA)
            elif s == "-":
                cv2.rectangle(canvas, (int(sx + sw * 0.15), int(y + h * 0.45)),
                              (int(sx + sw * 0.85), int(y + h * 0.55)), color, -1)
            elif s == "." or (sep_style == "emblem" and rng.random() < 0.5):
                r = max(1, int(min(sw, h * 0.25) / 2))
                col = color if s == "." else tuple(rng.uniform(40, 220, 3))
                cv2.circle(canvas, (int(sx + sw / 2), int(y + h / 2)), r, col, -1,
                           cv2.LINE_AA)
            cx = sx + sw + gap * scale
    return left, cx


def _color(rng, base, jitter=25):
    return tuple(float(np.clip(b + rng.uniform(-jitter, jitter), 0, 255)) for b in base)


END_WORDS = ["DP", "DV", "HC", "VET", "TR", "PH", "RV", "MC", "FD", "EX", "AP", "DAV",
             "POW", "CL", "HP", "SP"]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
          "DEC"]


def _end_picture(rng, canvas, box, fg):
    """One thing US plates carry at an end of their row, in box (x, y, w,
    h) the row's height: none of it is part of the plate's text (recipe 3's
    misreads at the labelled box: a cactus read as G, a sticker's digits as
    B, a wheelchair and "DP" as H, a state's picture as E or F)."""
    x, y, w, h = box
    kind = rng.integers(6)
    other = _color(rng, tuple(rng.uniform(20, 235, 3)), 20)
    col = fg if rng.random() < 0.5 else other
    if kind == 0:  # stacked letters: DP, DV, VET
        word = END_WORDS[rng.integers(len(END_WORDS))]
        lh = h * rng.uniform(0.28, 0.42)
        top = y + (h - lh * len(word)) / 2
        for k, ch in enumerate(word):
            _draw_text(canvas, ch, PLATE_FONTS[0], (x, top + lh * k, w, lh * 0.92), col)
    elif kind == 1:  # a wheelchair symbol, often white on blue in a square
        side = min(w, h) * rng.uniform(0.6, 1.0)
        sx, sy = x + (w - side) / 2, y + (h - side) / 2
        ink = col
        if rng.random() < 0.6:
            cv2.rectangle(canvas, (int(sx), int(sy)), (int(sx + side), int(sy + side)),
                          _color(rng, (160, 60, 20), 30), -1)
            ink = _color(rng, (245, 245, 245), 10)
        t = max(1, int(side * 0.08))
        cv2.circle(canvas, (int(sx + side * 0.45), int(sy + side * 0.15)),
                   max(1, int(side * 0.09)), ink, -1, cv2.LINE_AA)
        cv2.line(canvas, (int(sx + side * 0.42), int(sy + side * 0.28)),
                 (int(sx + side * 0.42), int(sy + side * 0.6)), ink, t, cv2.LINE_AA)
        cv2.line(canvas, (int(sx + side * 0.42), int(sy + side * 0.6)),
                 (int(sx + side * 0.75), int(sy + side * 0.6)), ink, t, cv2.LINE_AA)
        cv2.line(canvas, (int(sx + side * 0.75), int(sy + side * 0.6)),
                 (int(sx + side * 0.85), int(sy + side * 0.85)), ink, t, cv2.LINE_AA)
        cv2.ellipse(canvas, (int(sx + side * 0.4), int(sy + side * 0.7)),
                    (max(1, int(side * 0.24)),) * 2, 0, 20, 300, ink, t, cv2.LINE_AA)
    elif kind == 2:  # a cactus or a tree, the row's height
        cx = x + w * rng.uniform(0.35, 0.65)
        tw = max(2, int(w * rng.uniform(0.18, 0.3)))
        green = _color(rng, (40, 130, 40), 40) if rng.random() < 0.7 else col
        cv2.line(canvas, (int(cx), int(y + h * 0.05)), (int(cx), int(y + h)), green, tw,
                 cv2.LINE_AA)
        for side, fy in ((-1, rng.uniform(0.3, 0.6)), (1, rng.uniform(0.2, 0.5))):
            ax = int(cx + side * w * 0.3)
            cv2.line(canvas, (int(cx), int(y + h * (fy + 0.2))), (ax, int(y + h * (fy + 0.2))),
                     green, max(1, tw // 2), cv2.LINE_AA)
            cv2.line(canvas, (ax, int(y + h * (fy + 0.2))), (ax, int(y + h * fy)), green,
                     max(1, tw // 2), cv2.LINE_AA)
    elif kind == 3:  # a month or year sticker with its characters
        sw, sh = w * rng.uniform(0.7, 1.0), h * rng.uniform(0.4, 0.75)
        sx, sy = x + (w - sw) / 2, y + h * rng.uniform(0, 1) * (1 - sh / h)
        paper = _color(rng, tuple(rng.uniform(40, 250, 3)), 10)
        cv2.rectangle(canvas, (int(sx), int(sy)), (int(sx + sw), int(sy + sh)), paper, -1)
        label = str(rng.integers(0, 100)).zfill(2) if rng.random() < 0.6 \
            else MONTHS[rng.integers(12)]
        ink = (20, 20, 20) if sum(paper) > 380 else (245, 245, 245)
        _draw_text(canvas, label, PLATE_FONTS[rng.integers(len(PLATE_FONTS))],
                   (sx + sw * 0.1, sy + sh * 0.15, sw * 0.8, sh * 0.7), ink)
    elif kind == 4:  # a state's shape or a heart
        pts = np.float32(rng.uniform(-0.5, 0.5, (8, 2))) * np.float32([w * 0.9, h * 0.8]) + \
            np.float32([x + w / 2, y + h / 2])
        cv2.fillPoly(canvas, [cv2.convexHull(pts.astype(np.int32))], col, cv2.LINE_AA)
        if rng.random() < 0.4:  # a star on it
            cv2.circle(canvas, (int(x + w / 2), int(y + h / 2)), max(1, int(min(w, h) * 0.12)),
                       _color(rng, (240, 240, 240), 15), -1, cv2.LINE_AA)
    else:  # a small word in two rows (a county, "TRUCK")
        for k in range(2):
            _draw_text(canvas, "".join(rng.choice(list(LETTERS), int(rng.integers(3, 6)))),
                       PLATE_FONTS[0], (x, y + h * (0.12 + 0.42 * k), w, h * 0.3), col)


def render_us(rng):
    H, W = 120, 240
    dark_bg = rng.random() < 0.12
    if dark_bg:
        bg = _color(rng, (30, 30, 30))
        fg = _color(rng, [(240, 240, 240), (40, 200, 240), (250, 250, 250)][rng.integers(3)])
    else:
        bg = _color(rng, [(245, 245, 245), (235, 240, 250), (210, 240, 250),
                          (245, 230, 215), (240, 250, 240)][rng.integers(5)], 12)
        fg = _color(rng, [(20, 20, 20), (120, 30, 20), (30, 30, 150), (30, 90, 30),
                          (30, 30, 180), (20, 20, 90)][rng.integers(6)])
    canvas = np.empty((H, W, 3), np.float32)
    canvas[:] = bg
    # A scene or gradient behind the text, faint.
    if rng.random() < 0.6:
        g = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
        c2 = np.array(_color(rng, bg, 60), np.float32)
        canvas = canvas * (1 - g * 0.6) + c2 * g * 0.6
    for _ in range(rng.integers(0, 4)):
        col = _color(rng, (rng.uniform(80, 250),) * 3, 80)
        cv2.ellipse(canvas, (int(rng.uniform(0, W)), int(rng.uniform(0, H))),
                    (int(rng.uniform(10, 100)), int(rng.uniform(5, 40))),
                    rng.uniform(0, 180), 0, 360, col, -1, cv2.LINE_AA)
        canvas = canvas * 0.7 + np.array(bg, np.float32) * 0.3
    text = _fill(rng, US_FORMATS[rng.integers(len(US_FORMATS))])
    if RECIPE >= 4:
        # The states' series issue no letter O (it would be the zero's
        # glyph), and US plates are written with 0: recipe 3's US plates
        # taught a round glyph to be O a third of the time, and us-dev's
        # labelled boxes read 6 zeros as O or Q. No draw is added.
        text = text.replace("O", "0")
    font = PLATE_FONTS[rng.integers(len(PLATE_FONTS))]
    th = H * rng.uniform(0.38, 0.56)
    ty = H * rng.uniform(0.25, 0.36)
    main = (W * 0.06, ty, W * 0.88, th)
    ends = []
    if RECIPE >= 5 and rng.random() < 0.45:
        # Room at one end (or both) for what plates carry beside the row.
        room = W * rng.uniform(0.1, 0.17)
        ends = [["left", "right"][rng.integers(2)]] if rng.random() < 0.8 else ["left", "right"]
        left_room = room if "left" in ends else 0
        right_room = room if "right" in ends else 0
        main = (W * 0.06 + left_room, ty, W * 0.88 - left_room - right_room, th)
    l, r = _draw_main(rng, canvas, text, font, main, fg, "emblem")
    for end in ends:
        ew = W * rng.uniform(0.08, 0.14)
        gap = W * rng.uniform(0.01, 0.04)
        ex = l - gap - ew if end == "left" else r + gap
        eh = th * rng.uniform(0.8, 1.1)
        _end_picture(rng, canvas, (ex, ty + (th - eh) / 2, ew, eh), fg)
    # State name on top, slogan below: same colours, smaller.
    state = US_STATES[rng.integers(len(US_STATES))]
    sfont = SCRIPT_FONTS[rng.integers(len(SCRIPT_FONTS))] if rng.random() < 0.5 \
        else PLATE_FONTS[rng.integers(len(PLATE_FONTS))]
    sh = H * rng.uniform(0.1, 0.2)
    _draw_text(canvas, state, sfont, (W * 0.15, max(4, ty - sh - H * 0.04), W * 0.7, sh),
               _color(rng, fg, 60) if rng.random() < 0.5 else _color(rng, (180, 30, 30), 40))
    slogan = SLOGANS[rng.integers(len(SLOGANS))]
    if slogan:
        lh = H * rng.uniform(0.07, 0.12)
        _draw_text(canvas, slogan, PLATE_FONTS[rng.integers(len(PLATE_FONTS))],
                   (W * 0.2, ty + th + H * 0.05, W * 0.6, lh), _color(rng, fg, 60))
    # Registration stickers in the corners.
    for _ in range(rng.integers(0, 3)):
        sx = rng.choice([W * 0.03, W * 0.8]) + rng.uniform(0, W * 0.05)
        sy = rng.choice([H * 0.04, H * 0.78])
        col = tuple(rng.uniform(0, 255, 3))
        cv2.rectangle(canvas, (int(sx), int(sy)), (int(sx + W * 0.13), int(sy + H * 0.15)),
                      col, -1)
    return canvas, text.replace(" ", "").replace("-", ""), (l, ty, r, ty + th)


def render_eu(rng):
    H, W = 60, 284
    code, fmts, yellow = EU_COUNTRIES[rng.integers(len(EU_COUNTRIES))]
    bg = _color(rng, (40, 200, 250) if rng.random() < yellow else (245, 245, 245), 10)
    canvas = np.empty((H, W, 3), np.float32)
    canvas[:] = bg
    fg = _color(rng, (20, 20, 20), 15)
    cv2.rectangle(canvas, (2, 2), (W - 3, H - 3), fg, int(rng.integers(2, 6)))
    band = int(W * rng.uniform(0.055, 0.1))
    has_band = rng.random() < 0.92
    # Slovak and Czech plates issued before the EU band: the coat of arms on
    # the left with the country's code under it, where a band would be.
    arms_left = RECIPE >= 3 and code in ("SK", "CZ") and rng.random() < 0.5
    if arms_left:
        aw = band * rng.uniform(0.7, 1.0)
        _shield(canvas, 5, H * rng.uniform(0.1, 0.16), aw, H * rng.uniform(0.4, 0.52), rng)
        _draw_text(canvas, code, (NARROW_FONTS or PLATE_FONTS)[0],
                   (4, H * rng.uniform(0.6, 0.66), aw + 2, H * rng.uniform(0.16, 0.24)),
                   _color(rng, (40, 40, 40), 30))
    elif has_band:
        cv2.rectangle(canvas, (3, 3), (band, H - 4), _color(rng, (150, 50, 10), 20), -1)
        cx, cy, r = band / 2 + 2, H * 0.3, band * 0.32
        for k in range(12):
            a = 2 * math.pi * k / 12
            cv2.circle(canvas, (int(cx + r * math.cos(a)), int(cy + r * math.sin(a))),
                       max(1, int(band * 0.04)), (0, 210, 250), -1)
        _draw_text(canvas, code, NARROW_FONTS[0] if NARROW_FONTS else PLATE_FONTS[0],
                   (4, H * 0.58, band - 6, H * 0.28), (245, 245, 245))
    shown = _fill(rng, fmts[rng.integers(len(fmts))])
    font = (NARROW_FONTS or PLATE_FONTS)[rng.integers(len(NARROW_FONTS or PLATE_FONTS))] \
        if rng.random() < 0.8 else PLATE_FONTS[rng.integers(len(PLATE_FONTS))]
    th = H * rng.uniform(0.6, 0.76)
    x0 = band + W * 0.02 if has_band or arms_left else W * 0.04
    style = {"CZ": "circles", "SK": "shield", "HR": "shield"}.get(code, "text")
    if arms_left:
        style = "text"  # no second coat of arms between the groups
    l, r = _draw_main(rng, canvas, shown, font, (x0, (H - th) / 2, W - x0 - W * 0.03, th), fg,
                      style, badge_color=(200, 200, 200) if code == "D" else None)
    return canvas, "".join(c for c in shown if c.isalnum()), (l, (H - th) / 2, r, (H + th) / 2)


def render_br(rng):
    H, W = 72, 222
    canvas = np.empty((H, W, 3), np.float32)
    if rng.random() < 0.5:  # old grey: LLL-DDDD under the city
        red = rng.random() < 0.15
        bg = _color(rng, (40, 40, 190) if red else (190, 190, 190), 20)
        fg = _color(rng, (240, 240, 240) if red else (20, 20, 20), 15)
        canvas[:] = bg
        cv2.rectangle(canvas, (3, 3), (W - 4, H - 4), fg, int(rng.integers(2, 5)))
        _draw_text(canvas, BR_CITIES[rng.integers(len(BR_CITIES))],
                   PLATE_FONTS[rng.integers(len(PLATE_FONTS))],
                   (W * 0.2, H * 0.07, W * 0.6, H * 0.14), fg)
        shown = _fill(rng, ["LLL-DDDD", "LLL DDDD", "LLL.DDDD"][rng.integers(3)])
        th = H * rng.uniform(0.52, 0.64)
        l, r = _draw_main(rng, canvas, shown, PLATE_FONTS[rng.integers(len(PLATE_FONTS))],
                          (W * 0.05, H * 0.28, W * 0.9, th), fg)
        tb = (l, H * 0.28, r, H * 0.28 + th)
    else:  # Mercosul: blue band with BRASIL, LLLDLDD
        canvas[:] = _color(rng, (245, 245, 245), 10)
        fg = _color(rng, (20, 20, 20), 15)
        cv2.rectangle(canvas, (2, 2), (W - 3, H - 3), fg, int(rng.integers(2, 5)))
        bh = int(H * rng.uniform(0.18, 0.24))
        cv2.rectangle(canvas, (3, 3), (W - 4, bh), _color(rng, (160, 60, 10), 20), -1)
        _draw_text(canvas, "BRASIL", PLATE_FONTS[rng.integers(len(PLATE_FONTS))],
                   (W * 0.35, bh * 0.25, W * 0.3, bh * 0.6), (245, 245, 245))
        cv2.rectangle(canvas, (int(W * 0.86), int(bh * 0.2)), (int(W * 0.95), int(bh * 0.85)),
                      (40, 150, 40), -1)
        cv2.rectangle(canvas, (int(W * 0.04), int(bh * 0.2)), (int(W * 0.1), int(bh * 0.85)),
                      (200, 200, 40), -1)
        shown = _fill(rng, "LLLDLDD")
        font = (NARROW_FONTS or PLATE_FONTS)[rng.integers(len(NARROW_FONTS or PLATE_FONTS))]
        th = H * rng.uniform(0.5, 0.62)
        ty = bh + (H - bh - th) * 0.5
        l, r = _draw_main(rng, canvas, shown, font, (W * 0.05, ty, W * 0.9, th), fg)
        tb = (l, ty, r, ty + th)
    return canvas, "".join(c for c in shown if c.isalnum()), tb


RENDERERS = {"us": render_us, "eu": render_eu, "br": render_br}


def _plate_wear(rng, plate):
    """Bolts, a dealer's frame with its text above and below, dirt. Returns
    the plate and where its old top-left corner went."""
    offset = (0, 0)
    H, W = plate.shape[:2]
    if rng.random() < 0.5:
        for bx in (W * 0.2, W * 0.8) if rng.random() < 0.7 else (W * 0.1, W * 0.9):
            for by in ((H * 0.1,) if rng.random() < 0.7 else (H * 0.1, H * 0.9)):
                r = max(2, int(H * rng.uniform(0.03, 0.06)))
                cv2.circle(plate, (int(bx), int(by)), r, _color(rng, (150, 150, 150), 60), -1,
                           cv2.LINE_AA)
                cv2.circle(plate, (int(bx), int(by)), max(1, r // 2), (60, 60, 60), -1)
    if rng.random() < 0.35:
        t = int(H * rng.uniform(0.04, 0.12))
        col = _color(rng, (rng.uniform(10, 240),) * 3, 30)
        top = int(H * rng.uniform(0.1, 0.2)) if rng.random() < 0.4 else t
        framed = np.empty((H + top + t + int(H * 0.12), W + 2 * t, 3), np.float32)
        framed[:] = col
        framed[top:top + H, t:t + W] = plate
        offset = (t, top)
        if rng.random() < 0.6:
            words = ["HONDA OF", "TOYOTA", "SUBARU", "AUTOHAUS", "MOTORS", "CHEVROLET",
                     "FORD", "DEALER", "AUTO SALES", "CALL 555"]
            fg = (250, 250, 250) if col[0] < 128 else (20, 20, 20)
            _draw_text(framed, words[rng.integers(len(words))] + " " +
                       words[rng.integers(len(words))], PLATE_FONTS[rng.integers(len(PLATE_FONTS))],
                       (t, H + top + 1, W, framed.shape[0] - H - top - 2), fg)
            if top > t:
                _draw_text(framed, words[rng.integers(len(words))] + " " +
                           words[rng.integers(len(words))],
                           PLATE_FONTS[rng.integers(len(PLATE_FONTS))],
                           (t, 1, W, top - 2), fg)
        plate = framed
    if rng.random() < 0.35:
        for _ in range(rng.integers(1, 8)):
            c = (int(rng.uniform(0, plate.shape[1])), int(rng.uniform(0, plate.shape[0])))
            ax = (int(rng.uniform(3, plate.shape[1] * 0.2)), int(rng.uniform(2, plate.shape[0] * 0.2)))
            over = plate.copy()
            cv2.ellipse(over, c, ax, rng.uniform(0, 180), 0, 360, _color(rng, (60, 80, 100), 40),
                        -1, cv2.LINE_AA)
            a = rng.uniform(0.1, 0.45)
            plate = plate * (1 - a) + over * a
    return plate, offset


def _scene(rng, h, w):
    """A car around the plate: paint, a bumper's edges, the odd text."""
    scene = np.empty((h, w, 3), np.float32)
    scene[:] = tuple(rng.uniform(0, 255, 3)) if rng.random() < 0.7 else (rng.uniform(0, 255),) * 3
    g = np.linspace(-1, 1, h, dtype=np.float32)[:, None, None]
    scene += g * rng.uniform(-60, 60)
    for _ in range(rng.integers(0, 6)):
        y = int(rng.uniform(0, h))
        cv2.line(scene, (0, y), (w, y + int(rng.uniform(-h * 0.1, h * 0.1))),
                 _color(rng, (rng.uniform(0, 255),) * 3, 40), int(rng.integers(1, 8)))
    if rng.random() < 0.3:
        word = "".join(rng.choice(list(LETTERS + DIGITS)) for _ in range(rng.integers(3, 9)))
        th = h * rng.uniform(0.06, 0.14)
        _draw_text(scene, word, PLATE_FONTS[rng.integers(len(PLATE_FONTS))],
                   (rng.uniform(0, w * 0.5), rng.choice([rng.uniform(0, h * 0.12),
                                                         rng.uniform(h * 0.8, h * 0.9)]),
                    w * 0.5, th), _color(rng, (rng.uniform(0, 255),) * 3, 40))
    return scene


def _camera(rng, img):
    """Lane camera effects on a BGR float image: glare, blur, IR, noise, JPEG.
    Returns grey uint8."""
    h, w = img.shape[:2]
    if rng.random() < 0.25:  # glare: a bright patch
        over = np.zeros((h, w), np.float32)
        cv2.ellipse(over, (int(rng.uniform(0, w)), int(rng.uniform(0, h))),
                    (int(rng.uniform(w * 0.05, w * 0.4)), int(rng.uniform(h * 0.1, h * 0.6))),
                    rng.uniform(0, 180), 0, 360, 1.0, -1)
        k = int(max(3, w * 0.1)) | 1
        over = cv2.GaussianBlur(over, (k, k), 0)
        img = img + over[..., None] * rng.uniform(30, 110)
    grey = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
    if rng.random() < 0.25:  # night IR: retroreflective plate, low contrast
        lo, hi = rng.uniform(0, 90), rng.uniform(130, 255)
        grey = lo + (grey / 255) * (hi - lo)
    # Light: gamma and contrast.
    grey = 255 * (np.clip(grey, 0, 255) / 255) ** rng.uniform(0.6, 1.6)
    grey = grey * rng.uniform(0.5, 1.2) + rng.uniform(-30, 30)
    if rng.random() < 0.35:  # motion blur along a direction
        k = int(rng.integers(3, max(4, int(w * 0.03)) + 2))
        ker = np.zeros((k, k), np.float32)
        ker[k // 2, :] = 1
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(-30, 30), 1)
        ker = cv2.warpAffine(ker, rot, (k, k))
        grey = cv2.filter2D(grey, -1, ker / max(ker.sum(), 1e-3))
    if rng.random() < 0.4:  # focus
        grey = cv2.GaussianBlur(grey, (0, 0), rng.uniform(0.3, max(0.4, h * 0.025)))
    grey = grey + rng.normal(0, rng.uniform(0, 14), grey.shape).astype(np.float32)
    grey = np.clip(grey, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, enc = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 90))])
        grey = cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE)
    return grey


def render_crop(rng, region):
    """One crop (grey uint8 at camera resolution) and its text."""
    plate, text, (tx0, ty0, tx1, ty1) = RENDERERS[region](rng)
    plate, (ox, oy) = _plate_wear(rng, plate)
    text_box = np.float32([[tx0, ty0], [tx1, ty0], [tx1, ty1], [tx0, ty1]]) + \
        np.float32([ox, oy])
    ph, pw = plate.shape[:2]
    # The plate on a car, in perspective.
    mx, my = int(pw * 0.3), int(ph * 0.5)
    scene = _scene(rng, ph + 2 * my, pw + 2 * mx)
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    j = np.float32(rng.uniform(-1, 1, (4, 2))) * np.float32([pw, ph]) * rng.uniform(0, 0.08)
    ang = math.radians(rng.uniform(-7, 7))
    rot = np.float32([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    centre = np.float32([pw / 2, ph / 2])
    dst = (src - centre) @ rot.T + centre + j + np.float32([mx, my])
    M = cv2.getPerspectiveTransform(src, dst)
    size = (scene.shape[1], scene.shape[0])
    warped = cv2.warpPerspective(plate, M, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((ph, pw), np.float32), M, size, flags=cv2.INTER_LINEAR)
    scene = scene * (1 - mask[..., None]) + warped * mask[..., None]
    # Occlusion: a tow bar, a hand, the car's own shadow on an edge.
    if rng.random() < 0.15:
        x0, y0 = dst[:, 0].min(), dst[:, 1].min()
        x1, y1 = dst[:, 0].max(), dst[:, 1].max()
        if rng.random() < 0.5:
            yy = int(y1 - (y1 - y0) * rng.uniform(0.03, 0.12))
            cv2.rectangle(scene, (0, yy), (size[0], size[1]), _color(rng, (50, 50, 50), 50), -1)
        else:
            xx = int(x0 + (x1 - x0) * rng.uniform(0.0, 0.04))
            cv2.rectangle(scene, (0, 0), (xx, size[1]), _color(rng, (50, 50, 50), 50), -1)
    if rng.random() < 0.65:
        # The finder's box (plate_finder.cc, LooseAround(PlateAround)): the
        # characters' row and margins in proportion to it, wherever the
        # plate's edges, band or state name fall; each side jittered.
        tb = cv2.perspectiveTransform(text_box[None], M)[0]
        x0, y0 = tb[:, 0].min(), tb[:, 1].min()
        x1, y1 = tb[:, 0].max(), tb[:, 1].max()
        tw, th = x1 - x0, y1 - y0
        l = x0 - tw * rng.uniform(0.02, 0.28) - th * rng.uniform(0.1, 0.8)
        r = x1 + tw * rng.uniform(0.02, 0.28) + th * rng.uniform(0.1, 0.8)
        t = y0 - th * rng.uniform(0.2, 0.9)
        b = y1 + th * rng.uniform(0.2, 0.9)
    else:
        # A loose box around the plate: a little inside to well outside.
        x0, y0 = dst[:, 0].min(), dst[:, 1].min()
        x1, y1 = dst[:, 0].max(), dst[:, 1].max()
        bw, bh = x1 - x0, y1 - y0
        l = x0 - bw * rng.uniform(-0.03, 0.18)
        r = x1 + bw * rng.uniform(-0.03, 0.18)
        t = y0 - bh * rng.uniform(-0.05, 0.35)
        b = y1 + bh * rng.uniform(-0.05, 0.35)
    l, t = int(max(0, l)), int(max(0, t))
    r, b = int(min(size[0], r)), int(min(size[1], b))
    crop = scene[t:b, l:r]
    # Distance: plates from 60 to 300 pixels wide.
    target_w = rng.uniform(60, 300)
    s = target_w / crop.shape[1]
    crop = cv2.resize(crop, (max(8, int(crop.shape[1] * s)), max(6, int(crop.shape[0] * s))),
                      interpolation=cv2.INTER_AREA)
    return _camera(rng, crop), text


def to_input(grey):
    """The network's input from a grey crop: resized to INPUT_W x INPUT_H,
    stretched to the full range, scaled to -1..1. The C++ reader
    (learned_plate_reader.cc) does the same."""
    img = cv2.resize(grey, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA)
    img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)
    return (img.astype(np.float32) - 127.5) / 127.5


REGION_WEIGHTS = {"us": 0.45, "eu": 0.35, "br": 0.2}


def sample(seed, index, region=None):
    """(input HxW float32, text, region) for one index of one seed."""
    rng = np.random.default_rng([seed, index])
    if region is None:
        names = list(REGION_WEIGHTS)
        region = names[rng.choice(len(names), p=list(REGION_WEIGHTS.values()))]
    grey, text = render_crop(rng, region)
    return to_input(grey), text, region


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="Write rendered plate crops as PNGs to look at.")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--out", default="/tmp/plate_ocr_samples")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.count):
        rng = np.random.default_rng([a.seed, i])
        region = REGIONS[i % 3]
        grey, text = render_crop(rng, region)
        cv2.imwrite(os.path.join(a.out, f"{i:03d}_{region}_{text}.png"), grey)
