"""Portrait → avatar bundle.

Steps: load (EXIF, grey, RGBA, 16-bit) → find faces → validate (count, size,
pose) → framed, upright crop at the output size → landmarks on the crop →
masks and person matte → background plate → sealed-lip rest pose → mouth
colours and teeth sprites.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from avatar_agent import __version__
from avatar_agent.errors import EnrollmentError
from avatar_agent.portrait import mesh
from avatar_agent.portrait.bundle import AvatarBundle
from avatar_agent.portrait.detect import DetectedFace, FaceDetector
from avatar_agent.portrait.image_io import load_portrait
from avatar_agent.portrait.teeth import make_teeth

__all__ = ["EnrollConfig", "enroll", "enroll_image"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrollConfig:
    """Enrollment settings.

    Attributes:
        size: Output side in pixels.
        face_fraction: Face width as a fraction of the crop width.
        eye_height: Height of the eye line in the crop, as a fraction.
        max_upscale: Largest allowed enlargement of the face; smaller faces are
            rejected as too small for ``size``.
        max_yaw: Largest accepted head yaw of the reference, degrees.
        max_pitch: Largest accepted head pitch, degrees.
        max_roll: Largest accepted head roll, degrees (smaller rolls are
            straightened in the crop).
    """

    size: int = 512
    face_fraction: float = 0.40
    eye_height: float = 0.40
    max_upscale: float = 2.75
    max_yaw: float = 30.0
    max_pitch: float = 30.0
    max_roll: float = 40.0


def enroll(
    path: str | Path,
    *,
    size: int = 512,
    face: int | None = None,
    model_path: str | Path | None = None,
    config: EnrollConfig | None = None,
) -> AvatarBundle:
    """Enroll a portrait file.

    Args:
        path: Image file.
        size: Output side in pixels.
        face: Which face to use when the photo has several (0 = leftmost).
        model_path: ``face_landmarker.task`` (see
            :func:`avatar_agent.portrait.detect.find_face_model`).
        config: Further settings; ``size`` overrides ``config.size``.

    Returns:
        The bundle; ``bundle.meta["warnings"]`` lists soft problems.

    Raises:
        EnrollmentError: For unusable portraits, with a one-line reason.
    """
    image = load_portrait(path)
    cfg = EnrollConfig(**{**(config or EnrollConfig()).__dict__, "size": size})
    bundle = enroll_image(image, face=face, model_path=model_path, config=cfg)
    bundle.meta["source"] = Path(path).name
    return bundle


def enroll_image(
    image: np.ndarray,
    *,
    face: int | None = None,
    model_path: str | Path | None = None,
    config: EnrollConfig | None = None,
) -> AvatarBundle:
    """Enroll an RGB uint8 image (see :func:`enroll`)."""
    cfg = config or EnrollConfig()
    if cfg.size < 128 or cfg.size > 2048:
        raise EnrollmentError(f"output size must be 128..2048 px, got {cfg.size}")
    with FaceDetector(model_path) as det:
        faces = det.detect(image)
        if not faces and max(image.shape[:2]) < 600:
            up = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
            faces = det.detect(up)
            for f in faces:
                f.landmarks = f.landmarks / 2.0
        chosen = _choose_face(faces, face)
        _check_pose(chosen, cfg)
        matrix, scale = _crop_transform(chosen, cfg)
        _check_size(chosen, scale, cfg)
        crop = _warp_crop(image, matrix, scale, cfg.size)
        found = det.detect(crop)
    warnings: list[str] = []
    ref = _pick_in_crop(found, chosen, matrix)
    if ref is None:
        lm = chosen.landmarks.copy()
        lm[:, :2] = lm[:, :2] @ matrix[:, :2].T + matrix[:, 2]
        lm[:, 2] *= scale
        ref = DetectedFace(lm, chosen.blendshapes, chosen.matrix, chosen.yaw, chosen.pitch, 0.0)
        warnings.append("landmarks re-detection on the crop failed; using transformed ones")
    return _build_bundle(crop, ref, cfg, warnings)


# ---------------------------------------------------------------------------- checks
def _choose_face(faces: list[DetectedFace], face: int | None) -> DetectedFace:
    if not faces:
        raise EnrollmentError("no face found in the portrait (need one clear, frontal face)")
    if face is not None:
        if not 0 <= face < len(faces):
            raise EnrollmentError(f"--face {face} is out of range: found {len(faces)} face(s)")
        return faces[face]
    if len(faces) > 1:
        where = ", ".join(
            f"#{i} at x={int(f.bbox[0])}..{int(f.bbox[2])}" for i, f in enumerate(faces)
        )
        raise EnrollmentError(
            f"found {len(faces)} faces ({where}, left to right): pick one with --face N"
        )
    return faces[0]


def _check_pose(f: DetectedFace, cfg: EnrollConfig) -> None:
    problems = []
    if abs(f.yaw) > cfg.max_yaw:
        problems.append(f"turned {abs(f.yaw):.0f}° sideways (max {cfg.max_yaw:.0f}°)")
    if abs(f.pitch) > cfg.max_pitch:
        problems.append(f"tilted {abs(f.pitch):.0f}° up/down (max {cfg.max_pitch:.0f}°)")
    if abs(_eye_roll(f.landmarks)) > cfg.max_roll:
        problems.append(f"rolled {abs(_eye_roll(f.landmarks)):.0f}° (max {cfg.max_roll:.0f}°)")
    if problems:
        raise EnrollmentError(
            "head pose too extreme: " + "; ".join(problems) + " — use a photo facing the camera"
        )


def _check_size(f: DetectedFace, scale: float, cfg: EnrollConfig) -> None:
    if scale > cfg.max_upscale:
        need = math.ceil(f.width * scale / cfg.max_upscale)
        raise EnrollmentError(
            f"face too small: {f.width:.0f} px wide, needs at least {need} px for "
            f"--size {cfg.size} (use a larger photo or a smaller --size)"
        )


def _eye_roll(lm: np.ndarray) -> float:
    er = lm[list(mesh.RIGHT_EYE), :2].mean(0)
    el = lm[list(mesh.LEFT_EYE), :2].mean(0)
    d = el - er
    return math.degrees(math.atan2(d[1], d[0]))


# ------------------------------------------------------------------------------ crop
def _crop_transform(f: DetectedFace, cfg: EnrollConfig) -> tuple[np.ndarray, float]:
    """Affine (2×3) from the photo to the crop, and its scale."""
    lm = f.landmarks[:, :2].astype(np.float64)
    roll = math.radians(_eye_roll(f.landmarks))
    c, s = math.cos(-roll), math.sin(-roll)
    rot = np.array([[c, -s], [s, c]])
    up = lm @ rot.T
    face_w = float(np.ptp(up[list(mesh.FACE_OVAL), 0]))
    scale = cfg.size * cfg.face_fraction / face_w
    eyes = np.concatenate([up[list(mesh.RIGHT_EYE)], up[list(mesh.LEFT_EYE)]]).mean(0)
    centre_x = float(up[list(mesh.FACE_OVAL), 0].mean())
    a = scale * rot
    t = np.array([cfg.size / 2, cfg.eye_height * cfg.size]) - scale * np.array([centre_x, eyes[1]])
    return np.concatenate([a, t[:, None]], 1), scale


def _warp_crop(image: np.ndarray, matrix: np.ndarray, scale: float, size: int) -> np.ndarray:
    img, m = image, matrix.copy()
    if scale < 0.5:  # pre-shrink with area averaging for clean downscaling
        f = min(1.0, 2.0 * scale)
        img = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        m[:, :2] /= f
    interp = cv2.INTER_LANCZOS4 if scale > 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(img, m, (size, size), flags=interp, borderMode=cv2.BORDER_REPLICATE)


def _pick_in_crop(
    found: list[DetectedFace], chosen: DetectedFace, matrix: np.ndarray
) -> DetectedFace | None:
    if not found:
        return None
    nose = chosen.landmarks[mesh.NOSE_TIP, :2] @ matrix[:, :2].T + matrix[:, 2]
    return min(found, key=lambda f: float(np.linalg.norm(f.landmarks[mesh.NOSE_TIP, :2] - nose)))


# ----------------------------------------------------------------------------- masks
def _poly(size: int, pts: np.ndarray, value: int = 255) -> np.ndarray:
    m = np.zeros((size, size), np.uint8)
    cv2.fillPoly(m, [np.round(pts[:, :2] * 16).astype(np.int32)], value, cv2.LINE_AA, shift=4)
    return m


def _person_matte(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Soft person-vs-background matte from GrabCut seeded by the face mesh."""
    size = img.shape[0]
    work = 256 if size > 256 else size
    f = work / size
    small = cv2.resize(img, (work, work), interpolation=cv2.INTER_AREA)
    p = lm[:, :2] * f
    oval = p[list(mesh.FACE_OVAL)]
    centre = oval.mean(0)
    face_w = float(np.ptp(oval[:, 0]))
    face_h = float(np.ptp(oval[:, 1]))
    chin = p[mesh.CHIN]
    mask = np.full((work, work), cv2.GC_PR_BGD, np.uint8)
    # probable foreground: the head (an ellipse around the face) and the body below the chin
    cv2.ellipse(mask, (int(centre[0]), int(centre[1] - 0.1 * face_h)),
                (int(0.8 * face_w), int(0.85 * face_h)), 0, 0, 360, cv2.GC_PR_FGD, -1)  # fmt: skip
    body = np.array([[chin[0] - 0.45 * face_w, chin[1]], [chin[0] + 0.45 * face_w, chin[1]],
                     [chin[0] + 1.6 * face_w, work], [chin[0] - 1.6 * face_w, work]])  # fmt: skip
    cv2.fillPoly(mask, [body.astype(np.int32)], cv2.GC_PR_FGD)
    # sure foreground: the face and the neck
    shrink = centre + 0.92 * (oval - centre)
    cv2.fillPoly(mask, [shrink.astype(np.int32)], cv2.GC_FGD)
    neck = np.array([[chin[0] - 0.22 * face_w, chin[1] - 0.1 * face_h],
                     [chin[0] + 0.22 * face_w, chin[1] - 0.1 * face_h],
                     [chin[0] + 0.25 * face_w, chin[1] + 0.35 * face_h],
                     [chin[0] - 0.25 * face_w, chin[1] + 0.35 * face_h]])  # fmt: skip
    cv2.fillPoly(mask, [neck.astype(np.int32)], cv2.GC_FGD)
    # sure background: far corners above the shoulders
    far = max(1.45 * face_w, 1.3 * face_h)
    yy, xx = np.mgrid[0:work, 0:work]
    dist = np.hypot(xx - centre[0], (yy - centre[1]) * 0.9)
    mask[(dist > far) & (yy < chin[1])] = cv2.GC_BGD
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), mask, None, bgd, fgd, 5,
                    cv2.GC_INIT_WITH_MASK)  # fmt: skip
        fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    except cv2.error:  # degenerate colour models: fall back to the seeded regions
        fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    # keep the component connected to the face, fill holes
    n, labels = cv2.connectedComponents(fg)
    face_label = labels[int(centre[1]), int(centre[0])]
    if face_label:
        fg = (labels == face_label).astype(np.uint8)
    inv = 1 - fg
    n, labels = cv2.connectedComponents(inv)
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
    holes = ~np.isin(labels, list(border)) & (inv > 0)
    fg[holes] = 1
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # GrabCut cuts into fly-away hair; grow the matte so edge pixels belong to the person
    # (otherwise hair colour stays behind on the background plate when the head moves)
    fg = cv2.dilate(fg, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    big = cv2.resize(fg.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    sigma = max(0.8, size / 400)
    big = cv2.GaussianBlur(big, (0, 0), sigma)
    return np.clip(big * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _background_plate(img: np.ndarray, person: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Background with the head and neck painted out (inpainted at reduced size)."""
    size = img.shape[0]
    oval = lm[list(mesh.FACE_OVAL), :2]
    face_h = float(np.ptp(oval[:, 1]))
    chin_y = float(lm[mesh.CHIN, 1])
    hole = (person > 8).astype(np.uint8)
    hole = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size // 40 * 2 + 1,) * 2))
    hole[int(min(size, chin_y + 1.2 * face_h)) :] = 0
    work = min(size, 192)
    f = work / size
    small = cv2.resize(img, (work, work), interpolation=cv2.INTER_AREA)
    small_hole = (cv2.resize(hole, (work, work), interpolation=cv2.INTER_NEAREST) > 0).astype(
        np.uint8
    )
    small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), small_hole, 5, cv2.INPAINT_TELEA)
    filled = cv2.cvtColor(filled, cv2.COLOR_BGR2RGB)
    filled = cv2.resize(filled, (size, size), interpolation=cv2.INTER_CUBIC)
    filled = cv2.GaussianBlur(filled, (0, 0), 1.5 / f)
    plate = img.copy()
    plate[hole > 0] = filled[hole > 0]
    return plate


# ---------------------------------------------------------------------------- mouth
def _inner_gaps(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of inner-lip points (upper, lower) and their vertical gap."""
    upper = np.array(mesh.LIPS_INNER_UPPER)
    lower = np.array(mesh.LIPS_INNER_LOWER[::-1])
    gap = lm[lower, 1] - lm[upper, 1]
    return upper, lower, gap


def _seal_lips(lm: np.ndarray, iod: float) -> np.ndarray:
    """Rest landmarks: the reference with parted lips brought together."""
    upper, lower, gap = _inner_gaps(lm)
    gap = np.clip(gap, 0.0, None)
    if gap.max() < 0.015 * iod:
        return lm.copy()
    rest = lm.copy()
    xs = lm[upper, 0]
    order = np.argsort(xs)
    half_gap = np.interp(lm[:, 0], xs[order], gap[order] / 2.0, left=0.0, right=0.0)
    mouth_y = 0.5 * (lm[upper, 1].mean() + lm[lower, 1].mean())
    lips_up = set(mesh.LIPS_OUTER_UPPER) | set(mesh.LIPS_INNER_UPPER)
    lips_lo = set(mesh.LIPS_OUTER_LOWER) | set(mesh.LIPS_INNER_LOWER)
    contour_up = lm[list(mesh.LIPS_OUTER_UPPER), :2]
    contour_lo = lm[list(mesh.LIPS_OUTER_LOWER), :2]
    sigma = 0.12 * iod
    for i in range(len(lm)):
        if i in lips_up and i not in lips_lo:
            rest[i, 1] += half_gap[i]
            continue
        if i in lips_lo and i not in lips_up:
            rest[i, 1] -= half_gap[i]
            continue
        if i in lips_up and i in lips_lo:  # corners
            continue
        p = lm[i, :2]
        above = p[1] < mouth_y
        contour = contour_up if above else contour_lo
        d = float(np.min(np.linalg.norm(contour - p, axis=1)))
        w = math.exp(-(d * d) / (2 * sigma * sigma))
        rest[i, 1] += (half_gap[i] if above else -half_gap[i]) * w
    return rest


def _mouth_colours(img: np.ndarray, lm: np.ndarray, masks: dict[str, np.ndarray]) -> dict:
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    inner = masks["mouth"] > 128
    lips = masks["lips"] > 128
    face = masks["face"] > 128
    skin = face & ~lips & ~(masks["eyes"] > 0) & ~inner
    skin_rgb = np.median(img[skin], 0) if skin.any() else np.array([190, 150, 130])
    lip_rgb = np.median(img[lips], 0) if lips.any() else skin_rgb * [0.85, 0.6, 0.6]
    teeth_px = inner & (hsv[..., 2] > 110) & (hsv[..., 1] < 110)
    n_inner = int(inner.sum())
    teeth_visible = n_inner > 30 and teeth_px.sum() > 0.25 * n_inner
    brightness = float(np.mean(skin_rgb)) / 160.0
    if teeth_visible:
        teeth = np.median(img[teeth_px], 0)
    else:
        teeth = np.clip(np.array([232, 226, 212]) * min(1.05, 0.8 + 0.25 * brightness), 0, 255)
    dark = inner & (hsv[..., 2] < 90)
    cavity = np.median(img[dark], 0) if dark.sum() > 10 else lip_rgb * 0.22 + [8, 2, 2]
    tongue = np.clip(lip_rgb * 0.8 + np.array([40, 5, 10]), 0, 255)
    as_list = lambda a: [int(round(float(x))) for x in a]  # noqa: E731
    return {
        "skin": as_list(skin_rgb),
        "lips": as_list(lip_rgb),
        "teeth": as_list(teeth),
        "cavity": as_list(np.clip(cavity, 0, 90)),
        "tongue": as_list(tongue),
        "teeth_visible": bool(teeth_visible),
    }


def _fill_mouth(fg: np.ndarray, masks: dict[str, np.ndarray], colours: dict) -> np.ndarray:
    """Paint the reference's mouth opening with lip colour.

    When the lips are sealed at rest, the warp squeezes this region to a
    sliver; lip colour there keeps teeth from showing through as a line.
    """
    hole = cv2.dilate((masks["mouth"] > 40).astype(np.uint8), np.ones((3, 3), np.uint8))
    if not hole.any():
        return fg
    filled = cv2.inpaint(cv2.cvtColor(fg, cv2.COLOR_RGB2BGR), hole, 3, cv2.INPAINT_TELEA)
    filled = cv2.cvtColor(filled, cv2.COLOR_BGR2RGB)
    a = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 0.8)[..., None]
    lips = np.array(colours["lips"], np.float32) * 0.8
    mix = 0.5 * filled.astype(np.float32) + 0.5 * lips
    out = fg.astype(np.float32) * (1 - a) + mix * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------- build
def _build_bundle(
    crop: np.ndarray, ref: DetectedFace, cfg: EnrollConfig, warnings: list[str]
) -> AvatarBundle:
    size = cfg.size
    lm = ref.landmarks.astype(np.float32)
    eye_r = lm[list(mesh.RIGHT_EYE), :2].mean(0)
    eye_l = lm[list(mesh.LEFT_EYE), :2].mean(0)
    iod = float(np.linalg.norm(eye_l - eye_r))

    def poly(idx: tuple[int, ...]) -> np.ndarray:
        return _poly(size, lm[list(idx)])

    masks = {
        "face": poly(mesh.FACE_OVAL),
        "lips": cv2.subtract(poly(mesh.LIPS_OUTER), poly(mesh.LIPS_INNER)),
        "mouth": poly(mesh.LIPS_INNER),
        "eyes": cv2.max(poly(mesh.RIGHT_EYE), poly(mesh.LEFT_EYE)),
    }
    person = _person_matte(crop, lm)
    masks["person"] = person
    hair = cv2.subtract(person, cv2.dilate(masks["face"], np.ones((5, 5), np.uint8)))
    hair[int(lm[mesh.CHIN, 1]) :] = 0
    masks["hair"] = hair
    plate = _background_plate(crop, person, lm)

    shapes = ref.blendshapes
    _, _, gap = _inner_gaps(lm)
    if shapes.get("jawOpen", 0.0) > 0.25 or gap.max() > 0.12 * iod:
        warnings.append(
            "the mouth is open in the reference: it is closed at rest and the inside is drawn; "
            "a closed-mouth photo looks better"
        )
    blink = max(shapes.get("eyeBlinkLeft", 0.0), shapes.get("eyeBlinkRight", 0.0))
    if blink > 0.5:
        warnings.append("the eyes look closed in the reference: use a photo with open eyes")
    rest = _seal_lips(lm, iod)
    colours = _mouth_colours(crop, lm, masks)
    if colours["teeth_visible"]:
        log.info("reference shows teeth; their colour is reused for the mouth interior")
    teeth_col = tuple(colours["teeth"])
    teeth_upper = make_teeth(iod, 0.2 * iod, teeth_col, lower=False)
    teeth_lower = make_teeth(iod, 0.14 * iod, tuple(int(c * 0.92) for c in teeth_col), lower=True)
    image = _fill_mouth(crop, masks, colours)
    for w in warnings:
        log.warning("%s", w)
    meta = {
        "created_by": f"avatar-agent {__version__}",
        "iod": iod,
        "colours": colours,
        "reference_blendshapes": {k: round(v, 4) for k, v in shapes.items() if v > 0.01},
        "reference_pose": {"yaw": ref.yaw, "pitch": ref.pitch, "roll": ref.roll},
        "warnings": warnings,
    }
    return AvatarBundle(
        image=image,
        plate=plate,
        masks=masks,
        landmarks=lm,
        rest=rest.astype(np.float32),
        teeth_upper=teeth_upper,
        teeth_lower=teeth_lower,
        meta=meta,
    )
