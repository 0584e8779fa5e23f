#!/usr/bin/python3
"""Writes bicubic_reference.json, the reference of bicubic_downsample_test.ts.

Run with Debian's python3 (python3-numpy, python3-pil):
    /usr/bin/python3 lib/data/degradations/testdata/make_bicubic_reference.py
    deno fmt lib/data/degradations/testdata/   # the repository keeps JSON deno-formatted

- "matlab": a NumPy transcription of MATLAB imresize's `contributions` (bicubic,
  antialiasing on, symmetric boundary), in float64, vectorised like MATLAB's code.
- "pil": Pillow's Image.resize(BICUBIC) on mode "F" (float32) images. Pillow also
  uses Keys a = -0.5 with antialiasing, but clips the support at the borders and
  renormalises instead of mirroring, so only interior pixels are comparable.
"""
import json
import os

import numpy as np
from PIL import Image


def cubic(x):
    a = np.abs(x)
    a2, a3 = a * a, a * a * a
    return ((1.5 * a3 - 2.5 * a2 + 1) * (a <= 1)
            + (-0.5 * a3 + 2.5 * a2 - 4 * a + 2) * ((a > 1) & (a <= 2)))


def contributions(in_len, out_len, scale, kernel_width=4.0):
    # MATLAB: h = @(x) scale * kernel(scale * x); kernel_width = kernel_width / scale
    kw = kernel_width / scale
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kw / 2)
    p = int(np.ceil(kw)) + 2
    ind = left[:, None] + np.arange(p)[None, :]
    weights = scale * cubic(scale * (u[:, None] - ind))
    weights = weights / weights.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(1, in_len + 1), np.arange(in_len, 0, -1)])
    ind = aux[np.mod(ind - 1, aux.size).astype(int)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], ind[:, keep].astype(int)


def resize_axis(x, axis, factor):
    in_len = x.shape[axis]
    w, ind = contributions(in_len, in_len // factor, 1.0 / factor)
    x = np.moveaxis(x, axis, 0)
    out = np.einsum("op,op...->o...", w, x[ind - 1])
    return np.moveaxis(out, 0, axis)


def matlab_imresize(x, factor):  # x: [h, w, c] float64
    return resize_axis(resize_axis(x, 0, factor), 1, factor)


def pil_resize(x, factor):
    h, w, c = x.shape
    chans = []
    for k in range(c):
        im = Image.fromarray(x[:, :, k].astype(np.float32), mode="F")
        chans.append(np.asarray(im.resize((w // factor, h // factor), Image.BICUBIC)))
    return np.stack(chans, axis=-1).astype(np.float64)


rng = np.random.default_rng(2018)
# Smooth-ish content in [0.1, 0.9] so that clipping to [0, 1] never applies.
h, w, c = 24, 32, 2
yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
base = 0.5 + 0.25 * np.sin(6 * xx + 3 * yy)[:, :, None] * np.array([1.0, -0.8])
x = np.clip(base + 0.1 * rng.uniform(-1, 1, size=(h, w, c)), 0.1, 0.9).astype(np.float32)
x64 = x.astype(np.float64)
out = {"shape": [1, h, w, c], "input": x.ravel().tolist()}
for f in (2, 4):
    out[f"matlab_x{f}"] = matlab_imresize(x64, f).ravel().tolist()
    out[f"pil_x{f}"] = pil_resize(x64, f).ravel().tolist()
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bicubic_reference.json")
with open(path, "w") as fh:
    json.dump(out, fh, separators=(",", ":"))
    fh.write("\n")
print("wrote", path)
