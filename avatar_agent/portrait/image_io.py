"""Robust portrait loading: EXIF rotation, grayscale, RGBA, 16-bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avatar_agent.errors import EnrollmentError

__all__ = ["load_portrait", "to_rgb8"]


def to_rgb8(array: np.ndarray) -> np.ndarray:
    """Convert a grayscale/RGB/RGBA array of any integer or float depth to RGB uint8.

    Transparent pixels are composited over mid grey, so a cut-out portrait
    gets a plain background instead of black.

    Args:
        array: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` image.

    Returns:
        ``(H, W, 3)`` uint8 RGB.

    Raises:
        EnrollmentError: For shapes that are not an image.
    """
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise EnrollmentError(f"not an image array (shape {arr.shape})")
    if arr.dtype == np.uint8:
        f = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        f = arr.astype(np.float32) / 65535.0
    elif np.issubdtype(arr.dtype, np.integer):
        hi = float(arr.max()) if arr.size else 1.0
        f = arr.astype(np.float32) / (65535.0 if hi > 255 else 255.0)
    else:
        f = np.nan_to_num(arr.astype(np.float32))
        if f.size and f.max() > 1.0:
            f = f / 255.0
    f = np.clip(f, 0.0, 1.0)
    if f.ndim == 2:
        f = np.repeat(f[:, :, None], 3, axis=2)
    elif f.shape[2] == 4:
        alpha = f[:, :, 3:4]
        f = f[:, :, :3] * alpha + 0.5 * (1.0 - alpha)
    return (f * 255.0 + 0.5).astype(np.uint8)


def load_portrait(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8, honouring EXIF orientation.

    Args:
        path: Image file (PNG, JPEG, WebP, TIFF, BMP, ...).

    Returns:
        ``(H, W, 3)`` uint8 RGB.

    Raises:
        EnrollmentError: If the file is missing, unreadable, or not an image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise EnrollmentError(f"portrait not found: {p}")
    if p.is_dir():
        raise EnrollmentError(f"portrait is a directory, not an image: {p}")
    try:
        with Image.open(p) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode in ("I;16", "I;16B", "I;16L"):
                arr = np.asarray(img, dtype=np.uint16)
            elif img.mode == "I":
                arr = np.asarray(img).astype(np.int64)
                arr = np.clip(arr, 0, 65535).astype(np.uint16)
            elif img.mode == "F":
                arr = np.asarray(img, dtype=np.float32)
            elif img.mode in ("L", "RGB", "RGBA"):
                arr = np.asarray(img)
            elif img.mode in ("LA", "PA") or "transparency" in img.info:
                arr = np.asarray(img.convert("RGBA"))
            else:
                arr = np.asarray(img.convert("RGB"))
    except UnidentifiedImageError as exc:
        raise EnrollmentError(f"not an image (unrecognised format): {p}") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise EnrollmentError(f"cannot read image {p}: corrupt or truncated ({exc})") from exc
    if arr.size == 0 or min(arr.shape[:2]) < 16:
        raise EnrollmentError(
            f"image too small to hold a face: {p} ({arr.shape[1]}x{arr.shape[0]})"
        )
    return to_rgb8(arr)
