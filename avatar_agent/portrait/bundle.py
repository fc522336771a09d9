"""The avatar bundle: everything the renderer needs about one portrait.

A bundle is a zip file (conventionally ``NAME.avatar``) holding:

* ``manifest.json`` — format name and version, output size, colours, the
  reference's measured expression and pose, enrollment warnings, provenance;
* ``image.png`` — the framed crop at the output resolution (RGB);
* ``plate.png`` — the background with the head painted out, shown where the
  head moves away (the person layer is ``image`` under ``masks/person``);
* ``masks/*.png`` — 8-bit masks: ``person`` (soft matte), ``face``, ``hair``,
  ``lips``, ``mouth`` (inner mouth), ``eyes``;
* ``teeth_upper.png`` / ``teeth_lower.png`` — RGBA mouth-interior sprites;
* ``mesh.npz`` — ``landmarks`` (478×3 reference MediaPipe mesh in output
  pixels) and ``rest`` (the same with the lips sealed: the pose shown at
  neutral motion).

See ``docs/bundle-format.md`` for the full description.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from avatar_agent.errors import BundleError
from avatar_agent.portrait import mesh

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "MASK_NAMES", "AvatarBundle"]

FORMAT_NAME = "avatar-agent-bundle"
FORMAT_VERSION = 1
MASK_NAMES = ("person", "face", "hair", "lips", "mouth", "eyes")


def _encode_png(img: np.ndarray) -> bytes:
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:  # pragma: no cover - OpenCV failure
        raise BundleError("cannot encode PNG")
    return buf.tobytes()


def _decode_png(data: bytes, name: str) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise BundleError(f"corrupt image {name} in bundle")
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return img


@dataclass
class AvatarBundle:
    """An enrolled portrait.

    Attributes:
        image: ``(S, S, 3)`` uint8 RGB framed crop.
        plate: ``(S, S, 3)`` uint8 background with the head painted out.
        masks: Masks by name (see :data:`MASK_NAMES`), ``(S, S)`` uint8.
        landmarks: ``(478, 3)`` float32 reference landmarks, output pixels.
        rest: ``(478, 3)`` float32 landmarks at neutral motion (lips sealed).
        teeth_upper: RGBA sprite of the upper teeth.
        teeth_lower: RGBA sprite of the lower teeth.
        meta: Manifest fields (colours, pose, warnings, provenance, ...).
    """

    image: np.ndarray
    plate: np.ndarray
    masks: dict[str, np.ndarray]
    landmarks: np.ndarray
    rest: np.ndarray
    teeth_upper: np.ndarray
    teeth_lower: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Output side length in pixels."""
        return int(self.image.shape[0])

    # ----------------------------------------------------------------- save
    def save(self, path: str | Path) -> Path:
        """Write the bundle as a zip file.

        Args:
            path: Destination (``.avatar`` is conventional).

        Returns:
            The path written.
        """
        p = Path(path)
        manifest = dict(self.meta)
        manifest.update(format=FORMAT_NAME, version=FORMAT_VERSION, size=self.size)
        buf = io.BytesIO()
        np.savez_compressed(buf, landmarks=self.landmarks.astype(np.float32),
                            rest=self.rest.astype(np.float32))  # fmt: skip
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
            zf.writestr("image.png", _encode_png(self.image))
            zf.writestr("plate.png", _encode_png(self.plate))
            for name in MASK_NAMES:
                zf.writestr(f"masks/{name}.png", _encode_png(self.masks[name]))
            zf.writestr("teeth_upper.png", _encode_png(self.teeth_upper))
            zf.writestr("teeth_lower.png", _encode_png(self.teeth_lower))
            zf.writestr("mesh.npz", buf.getvalue())
        tmp.replace(p)
        return p

    # ----------------------------------------------------------------- load
    @classmethod
    def load(cls, path: str | Path) -> AvatarBundle:
        """Read a bundle written by :meth:`save`.

        Raises:
            BundleError: If the file is missing, not a bundle, corrupt, or of
                a newer format version.
        """
        p = Path(path)
        if not p.is_file():
            raise BundleError(f"avatar bundle not found: {p}")
        try:
            with zipfile.ZipFile(p) as zf:
                names = set(zf.namelist())
                if "manifest.json" not in names:
                    raise BundleError(f"{p} is not an avatar bundle (no manifest.json)")
                meta = json.loads(zf.read("manifest.json"))
                if meta.get("format") != FORMAT_NAME:
                    raise BundleError(
                        f"{p} is not an avatar bundle (format {meta.get('format')!r})"
                    )
                version = int(meta.get("version", 0))
                if version > FORMAT_VERSION:
                    raise BundleError(
                        f"{p} has bundle format version {version}; this avatar-agent reads "
                        f"up to {FORMAT_VERSION} (upgrade avatar-agent)"
                    )
                read = {n: zf.read(n) for n in names}
        except zipfile.BadZipFile as exc:
            raise BundleError(f"{p} is not an avatar bundle (not a zip file)") from exc
        except (KeyError, ValueError) as exc:
            raise BundleError(f"{p}: corrupt bundle ({exc})") from exc

        def img(name: str) -> np.ndarray:
            if name not in read:
                raise BundleError(f"{p}: missing {name}")
            return _decode_png(read[name], name)

        mesh_npz = np.load(io.BytesIO(read["mesh.npz"]))
        bundle = cls(
            image=img("image.png"),
            plate=img("plate.png"),
            masks={n: img(f"masks/{n}.png") for n in MASK_NAMES},
            landmarks=mesh_npz["landmarks"].astype(np.float32),
            rest=mesh_npz["rest"].astype(np.float32),
            teeth_upper=img("teeth_upper.png"),
            teeth_lower=img("teeth_lower.png"),
            meta=meta,
        )
        s = bundle.size
        if bundle.image.shape != (s, s, 3) or bundle.landmarks.shape != (mesh.N_LANDMARKS, 3):
            raise BundleError(f"{p}: inconsistent bundle contents")
        return bundle

    # --------------------------------------------------------------- resize
    def resized(self, size: int) -> AvatarBundle:
        """Return a copy scaled to another output size (assets and landmarks).

        Args:
            size: New side length in pixels.
        """
        if size == self.size:
            return self
        f = size / self.size
        interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC

        def rs(a: np.ndarray) -> np.ndarray:
            return cv2.resize(a, (size, size), interpolation=interp)

        def rs_sprite(a: np.ndarray) -> np.ndarray:
            h, w = a.shape[:2]
            return cv2.resize(a, (max(1, round(w * f)), max(1, round(h * f))), interpolation=interp)

        scale = np.array([f, f, f], np.float32)
        return replace(
            self,
            image=rs(self.image),
            plate=rs(self.plate),
            masks={k: rs(v) for k, v in self.masks.items()},
            landmarks=self.landmarks * scale,
            rest=self.rest * scale,
            teeth_upper=rs_sprite(self.teeth_upper),
            teeth_lower=rs_sprite(self.teeth_lower),
            meta=dict(self.meta, iod=float(self.meta.get("iod", 0.0)) * f),
        )
