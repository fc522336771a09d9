"""Rig: motion frame → control-point positions for one portrait.

Each blendshape is a displacement field over the 478 face landmarks, built
from the portrait's own landmarks in a face frame (origin at the mouth, unit =
inter-ocular distance, x along the eye line, y down), so shapes scale with the
face. Head pose rotates the 3-D landmarks (plus rings of extra points over the
hair and neck) about a pivot behind the face. Everything that does not depend
on the motion frame is computed once in :meth:`Rig.__init__`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from avatar_agent.motion import BLENDSHAPES, PARAM_INDEX, PARAMS
from avatar_agent.portrait import mesh

__all__ = ["Rig", "RigConfig"]

_K = len(BLENDSHAPES)
_B = {name: i for i, name in enumerate(BLENDSHAPES)}


@dataclass(frozen=True)
class RigConfig:
    """Amplitudes of the rig, in inter-ocular distances (IOD) unless noted.

    Attributes:
        jaw_drop: Lower-lip drop at ``jawOpen = 1``.
        smile_up: Mouth-corner rise at ``mouthSmile* = 1``.
        smile_out: Mouth-corner outward pull at ``mouthSmile* = 1``.
        brow_raise: Brow rise at ``browInnerUp``/``browOuterUp* = 1``.
        gaze_x: Iris shift, in eye widths, at ``eyeLookIn/Out* = 1``.
        gaze_y: Iris shift, in eye widths, at ``eyeLookUp/Down* = 1``.
        ring_scales: Scales of the extra point rings around the face outline.
        blink_warp_share: Part of a blink done by warping the real lid; the
            eyelid layer draws the rest.
        pivot_depth: Depth of the head-rotation pivot behind the face outline,
            in face widths.
        neck_fade: Distance below the chin, in face heights, over which head
            motion fades to zero (the neck bends, the shoulders stay).
    """

    jaw_drop: float = 0.40
    smile_up: float = 0.11
    smile_out: float = 0.10
    brow_raise: float = 0.10
    gaze_x: float = 0.14
    gaze_y: float = 0.07
    ring_scales: tuple[float, ...] = (1.2, 1.45, 1.75)
    blink_warp_share: float = 0.75
    pivot_depth: float = 0.55
    neck_fade: float = 0.45


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _in_polygon(points: np.ndarray, poly: np.ndarray, tol: float) -> np.ndarray:
    contour = poly.astype(np.float32).reshape(-1, 1, 2)
    return np.array(
        [cv2.pointPolygonTest(contour, (float(x), float(y)), True) >= -tol for x, y in points]
    )


class Rig:
    """Maps motion frames to 2-D control-point positions for one portrait.

    Args:
        landmarks: ``(478, 3)`` reference landmarks in output pixels.
        rest: ``(478, 3)`` rest landmarks (the reference with lips sealed);
            defaults to ``landmarks``.
        size: Output image side in pixels.
        config: Rig amplitudes.

    Attributes:
        points: ``(N, 2)`` reference positions of all control points (the 478
            landmarks, then extra ring, neck and anchor points).
        n_landmarks: Number of face landmarks at the start of ``points``.
    """

    def __init__(
        self,
        landmarks: np.ndarray,
        rest: np.ndarray | None = None,
        *,
        size: int,
        config: RigConfig | None = None,
    ) -> None:
        self.config = cfg = config or RigConfig()
        ref = np.asarray(landmarks, dtype=np.float64)
        rest = ref if rest is None else np.asarray(rest, dtype=np.float64)
        self.size = size
        self.n_landmarks = n = ref.shape[0]

        # --- face frame --------------------------------------------------------
        eye_r = ref[list(mesh.RIGHT_EYE), :2].mean(0)
        eye_l = ref[list(mesh.LEFT_EYE), :2].mean(0)
        self.iod = iod = float(np.linalg.norm(eye_l - eye_r))
        ex = (eye_l - eye_r) / iod
        ey = np.array([-ex[1], ex[0]])
        self.ex, self.ey = ex, ey
        self.mouth = mouth = ref[list(mesh.LIPS_INNER), :2].mean(0)
        rel = (rest[:, :2] - mouth) / iod
        u, v = rel @ ex, rel @ ey

        # --- extra control points: rings over hair/neck, anchors --------------
        oval = ref[list(mesh.FACE_OVAL)]
        centre = oval[:, :2].mean(0)
        face_w = float(np.ptp(oval[:, :2] @ ex))
        face_h = float(np.ptp(oval[:, :2] @ ey))
        pz = float(oval[:, 2].mean() + cfg.pivot_depth * face_w)
        nose = ref[mesh.NOSE_TIP, :2]
        self.pivot = np.array([centre[0], nose[1], pz])
        extra, extra_z = [], []
        for k in cfg.ring_scales:
            t = min(1.0, (k - 1.0) / 0.35)
            extra.append(centre + k * (oval[:, :2] - centre))
            extra_z.append(oval[:, 2] * (1 - t) + pz * t)
        ring = np.concatenate(extra)
        ring_z = np.concatenate(extra_z)
        margin = 0.06 * face_w
        x0, y0 = ring.min(0) - margin
        x1, y1 = ring.max(0) + margin
        chin = ref[mesh.CHIN, :2]
        y1 = max(y1, chin[1] + (cfg.neck_fade + 0.1) * face_h)
        x0, y0 = max(0.0, math.floor(x0)), max(0.0, math.floor(y0))
        x1, y1 = min(size - 1.0, math.ceil(x1)), min(size - 1.0, math.ceil(y1))
        self.roi = (int(x0), int(y0), int(x1) + 1, int(y1) + 1)
        inside = (
            (ring[:, 0] > x0 + 2)
            & (ring[:, 0] < x1 - 2)
            & (ring[:, 1] > y0 + 2)
            & (ring[:, 1] < y1 - 2)
        )
        ring, ring_z = ring[inside], ring_z[inside]
        anchors = []
        steps = 10
        for i in range(steps + 1):
            a = i / steps
            anchors += [(x0 + a * (x1 - x0), y0), (x0 + a * (x1 - x0), y1)]
            if 0 < i < steps:
                anchors += [(x0, y0 + a * (y1 - y0)), (x1, y0 + a * (y1 - y0))]
        anchors = np.array(anchors)
        self.n_ring = len(ring)
        self.points = np.concatenate([ref[:, :2], ring, anchors]).astype(np.float64)
        n_all = len(self.points)
        self.z = np.concatenate([ref[:, 2], ring_z, np.full(len(anchors), pz)])

        # head-motion weight: full on the head, fading down the neck, 0 at anchors
        vy = (self.points - chin) @ ey
        self.head_w = 1.0 - _smoothstep(0.0, cfg.neck_fade * face_h, vy)
        self.head_w[n + len(ring) :] = 0.0

        # rest offsets (sealed lips) for landmarks; extras none
        self.rest_offset = np.zeros((n_all, 2))
        self.rest_offset[:n] = rest[:, :2] - ref[:, :2]

        # --- blendshape basis ---------------------------------------------------
        basis = np.zeros((_K, n_all, 2))
        duv = self._build_basis(ref, rest, u, v, iod)
        for k, (du, dv) in duv.items():
            basis[_B[k], :n] = iod * (du[:, None] * ex + dv[:, None] * ey)
        self.basis = basis.reshape(_K, -1)
        self._yaw = PARAM_INDEX["headYaw"]

    # ------------------------------------------------------------------ basis
    def _build_basis(
        self, ref: np.ndarray, rest: np.ndarray, u: np.ndarray, v: np.ndarray, iod: float
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        cfg = self.config
        n = len(u)
        zeros = np.zeros(n)
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        uv = np.stack([u, v], 1)

        # lip membership is decided on the reference, where the two lips are apart
        ref_pts = ref[:, :2]
        lower_poly = ref[list(mesh.LIPS_OUTER_LOWER) + list(reversed(mesh.LIPS_INNER_LOWER)), :2]
        upper_poly = ref[list(mesh.LIPS_OUTER_UPPER) + list(reversed(mesh.LIPS_INNER_UPPER)), :2]
        lower = _in_polygon(ref_pts, lower_poly, 0.5).astype(float)
        upper = _in_polygon(ref_pts, upper_poly, 0.5).astype(float)
        lower_contour = list(mesh.LIPS_INNER_LOWER[1:-1] + mesh.LIPS_OUTER_LOWER[1:-1])
        upper_contour = list(mesh.LIPS_INNER_UPPER[1:-1] + mesh.LIPS_OUTER_UPPER[1:-1])
        upper[lower_contour] = 0.0
        lower[upper_contour] = 0.0
        corners = [mesh.MOUTH_RIGHT, mesh.MOUTH_LEFT, 78, 308, 62, 292, 76, 306, 184, 408]
        for c in corners:
            lower[c], upper[c] = 0.4, 0.6
        lower[list(mesh.LIPS_INNER_LOWER[1:-1])] = 1.0
        lower[list(mesh.LIPS_OUTER_LOWER[1:-1])] = 1.0
        upper[list(mesh.LIPS_INNER_UPPER[1:-1])] = 1.0
        upper[list(mesh.LIPS_OUTER_UPPER[1:-1])] = 1.0
        lip = np.maximum(lower, upper)
        chin_v = v[mesh.CHIN]
        low_lip_v = v[mesh.LOWER_LIP_BOTTOM]
        mouth_half = 0.5 * abs(u[mesh.MOUTH_LEFT] - u[mesh.MOUTH_RIGHT])
        outer = np.zeros(n)
        outer[list(mesh.LIPS_OUTER)] = 1.0
        lip_mid = lip * (1 - outer) * (1 - np.isin(np.arange(n), mesh.LIPS_INNER))
        outer = np.where(lip_mid > 0, 0.5, outer)

        # jaw: lower lip and everything below the mouth line moves down
        skin = _smoothstep(-0.05, 0.3, v) * (1 - upper)
        lateral = 1.0 - 0.55 * _smoothstep(0.45, 1.1, np.abs(u))
        wj = np.where(lip > 0, lower, skin * lateral)
        wj = np.where(upper >= 1.0, 0.0, wj)
        drop = cfg.jaw_drop * wj * (1.0 + 0.25 * np.clip(v - low_lip_v, 0, 1))
        narrow = -0.05 * np.sign(u) * _smoothstep(0.2, mouth_half, np.abs(u)) * lower
        out["jawOpen"] = (narrow, drop)
        sway = 0.10 * wj
        out["jawLeft"] = (sway, zeros)
        out["jawRight"] = (-sway, zeros)
        out["jawForward"] = (zeros, 0.05 * wj)

        # mouthClose: the lower lip (and the skin just under it) rises back
        under = np.where(
            lip > 0, lower, (1 - _smoothstep(low_lip_v, chin_v, v)) * (v > 0) * lateral
        )
        out["mouthClose"] = (zeros, -cfg.jaw_drop * under)

        # per-side Gaussians at the mouth corners
        for side, cidx, sgn in (("Left", mesh.MOUTH_LEFT, 1.0), ("Right", mesh.MOUTH_RIGHT, -1.0)):
            c = uv[cidx]
            d2 = ((uv - c) ** 2).sum(1)
            g = np.exp(-d2 / (2 * 0.2**2))
            g_wide = np.exp(-d2 / (2 * 0.3**2))
            half = _smoothstep(-0.25, 0.15, sgn * u)
            cheek_c = np.array([sgn * 0.55, -0.55])
            gc = np.exp(-((uv - cheek_c) ** 2).sum(1) / (2 * 0.18**2))
            out[f"mouthSmile{side}"] = (
                sgn * cfg.smile_out * g * half,
                -cfg.smile_up * g * half - 0.035 * gc,
            )
            out[f"mouthFrown{side}"] = (sgn * 0.02 * g * half, 0.08 * g * half)
            out[f"mouthStretch{side}"] = (sgn * 0.09 * g * half, 0.03 * g * half)
            out[f"mouthDimple{side}"] = (sgn * 0.04 * g * half, -0.01 * g * half)
            side_w = half * _smoothstep(-0.1, 0.5, sgn * u + 0.3)
            out[f"mouthPress{side}"] = (zeros, 0.035 * outer * side_w * (lower - upper))
            out[f"mouthUpperUp{side}"] = (zeros, -0.07 * upper * side_w)
            out[f"mouthLowerDown{side}"] = (zeros, 0.08 * lower * side_w)
            out[f"cheekSquint{side}"] = (zeros, -0.05 * gc)
            gp = np.exp(-((uv - np.array([sgn * 0.7, -0.2])) ** 2).sum(1) / (2 * 0.25**2))
            out[f"cheekPuff_{side}"] = (sgn * 0.06 * gp, zeros)
            nose_c = uv[mesh.NOSE_TIP] + np.array([sgn * 0.16, 0.0])
            gn = np.exp(-((uv - nose_c) ** 2).sum(1) / (2 * 0.1**2))
            out[f"noseSneer{side}"] = (zeros, -0.05 * gn - 0.02 * upper * half * g_wide)
        pl, pr = out.pop("cheekPuff_Left"), out.pop("cheekPuff_Right")
        out["cheekPuff"] = (pl[0] + pr[0], zeros)

        # whole-mouth shapes
        gm = np.exp(-((uv - np.array([0.0, 0.0])) ** 2).sum(1) / (2 * 0.35**2))
        out["mouthLeft"] = (0.12 * gm, zeros)
        out["mouthRight"] = (-0.12 * gm, zeros)
        inward = -np.sign(u) * _smoothstep(0.05, mouth_half, np.abs(u))
        centre_w = 1.0 - _smoothstep(0.0, mouth_half, np.abs(u))
        out["mouthPucker"] = (0.09 * inward * lip, 0.015 * centre_w * (lower - upper))
        out["mouthFunnel"] = (
            0.07 * inward * lip,
            0.05 * centre_w * (lower - upper) * (1 - outer * 0.5),
        )
        out["mouthRollLower"] = (zeros, -0.07 * outer * lower)
        out["mouthRollUpper"] = (zeros, 0.06 * outer * upper)
        out["mouthShrugLower"] = (zeros, -0.05 * lower - 0.03 * wj * (lip == 0))
        out["mouthShrugUpper"] = (zeros, -0.04 * upper)

        # eyes
        for side, up_i, lo_i, iris, brow_in, brow_out, sgn in (
            ("Left", mesh.LEFT_EYE_UPPER, mesh.LEFT_EYE_LOWER, mesh.LEFT_IRIS,
             mesh.LEFT_BROW_INNER, mesh.LEFT_BROW_OUTER, 1.0),
            ("Right", mesh.RIGHT_EYE_UPPER, mesh.RIGHT_EYE_LOWER, mesh.RIGHT_IRIS,
             mesh.RIGHT_BROW_INNER, mesh.RIGHT_BROW_OUTER, -1.0),
        ):  # fmt: skip
            self._eye_shapes(out, side, sgn, list(up_i), list(lo_i), list(iris), uv, n)
            brow = mesh.LEFT_BROW if side == "Left" else mesh.RIGHT_BROW
            bw = self._brow_weight(uv, list(brow))
            bw_in = self._brow_weight(uv, list(brow_in))
            bw_out = self._brow_weight(uv, list(brow_out))
            out[f"browDown{side}"] = (-sgn * 0.02 * bw, 0.07 * bw)
            out[f"browOuterUp{side}"] = (zeros, -cfg.brow_raise * bw_out)
            if side == "Left":
                inner_l = bw_in
            else:
                inner_r = bw_in
        out["browInnerUp"] = (zeros, -cfg.brow_raise * np.maximum(inner_l, inner_r))
        for name in BLENDSHAPES:
            out.setdefault(name, (zeros, zeros))
        return out

    @staticmethod
    def _brow_weight(uv: np.ndarray, idx: list[int]) -> np.ndarray:
        """1 on the given brow points, fading over the forehead and toward the lid."""
        d = np.sqrt(((uv[:, None, :] - uv[idx][None]) ** 2).sum(-1)).min(1)
        above = uv[:, 1] < uv[idx, 1].max() + 0.02
        w = np.exp(-(d**2) / (2 * 0.09**2))
        w_fore = np.exp(-(d**2) / (2 * 0.3**2)) * (uv[:, 1] < uv[idx, 1].min())
        return np.maximum(w * (0.35 + 0.65 * above), 0.8 * w_fore)

    def _eye_shapes(
        self,
        out: dict[str, tuple[np.ndarray, np.ndarray]],
        side: str,
        sgn: float,
        upper: list[int],
        lower: list[int],
        iris: list[int],
        uv: np.ndarray,
        n: int,
    ) -> None:
        cfg = self.config
        zeros = np.zeros(n)
        up_uv, lo_uv = uv[upper], uv[lower]
        eye_w = float(np.ptp(up_uv[:, 0]))
        order = np.argsort(lo_uv[:, 0])

        def lower_v(x: np.ndarray) -> np.ndarray:
            return np.interp(x, lo_uv[order, 0], lo_uv[order, 1])

        order_u = np.argsort(up_uv[:, 0])

        def upper_v(x: np.ndarray) -> np.ndarray:
            return np.interp(x, up_uv[order_u, 0], up_uv[order_u, 1])

        aperture = float(np.max(lower_v(up_uv[:, 0]) - up_uv[:, 1]))
        # blink: everything inside the aperture collapses onto a line near the lower lid
        close_at = lambda x: lower_v(x) - 0.15 * (lower_v(x) - upper_v(x))  # noqa: E731
        # the warp slides the lid part of the way (render/eyes.py draws the rest)
        share = cfg.blink_warp_share
        dv = np.zeros(n)
        dv[upper] = share * (close_at(up_uv[:, 0]) - up_uv[:, 1])
        dv[lower] = share * (close_at(lo_uv[:, 0]) - lo_uv[:, 1])
        dv[iris] = share * (close_at(uv[iris, 0]) - uv[iris, 1])
        # the skin above the lid (crease) follows part of the way
        eye_pts = upper + lower + iris
        mask = np.ones(n, bool)
        mask[eye_pts] = False
        d_up = np.sqrt(((uv[:, None] - up_uv[None]) ** 2).sum(-1))
        nearest = d_up.argmin(1)
        above = uv[:, 1] < upper_v(uv[:, 0]) + 0.01
        dist = np.maximum(d_up.min(1) - 0.6 * aperture, 0.0)
        fall = np.exp(-(dist**2) / (2 * (0.5 * aperture) ** 2))
        dv = np.where(mask & above, fall * dv[np.array(upper)[nearest]], dv)
        out[f"eyeBlink{side}"] = (zeros, dv)

        lid_lift = np.zeros(n)
        lid_lift[upper] = -0.3 * aperture * np.sin(np.linspace(0, np.pi, len(upper)))
        lid_lift = np.where(mask & above, 0.6 * fall * lid_lift[np.array(upper)[nearest]], lid_lift)
        out[f"eyeWide{side}"] = (zeros, lid_lift)
        sq = np.zeros(n)
        sq[lower] = -0.35 * aperture * np.sin(np.linspace(0, np.pi, len(lower)))
        sq[upper] = 0.1 * aperture * np.sin(np.linspace(0, np.pi, len(upper)))
        d_lo = np.sqrt(((uv[:, None] - lo_uv[None]) ** 2).sum(-1))
        below = mask & ~above
        fall_lo = np.exp(-(d_lo.min(1) ** 2) / (2 * 0.12**2))
        sq = np.where(below, 0.6 * fall_lo * sq[np.array(lower)[d_lo.argmin(1)]], sq)
        out[f"eyeSquint{side}"] = (zeros, sq)

        gx = np.zeros(n)
        gx[iris] = cfg.gaze_x * eye_w
        gy = np.zeros(n)
        gy[iris] = cfg.gaze_y * eye_w
        droop = np.zeros(n)
        droop[upper] = 0.2 * aperture * np.sin(np.linspace(0, np.pi, len(upper)))
        out[f"eyeLookIn{side}"] = (-sgn * gx, zeros)
        out[f"eyeLookOut{side}"] = (sgn * gx, zeros)
        out[f"eyeLookUp{side}"] = (zeros, -gy - 0.5 * droop)
        out[f"eyeLookDown{side}"] = (zeros, gy + droop)

    # --------------------------------------------------------------- per frame
    def positions(self, frame: np.ndarray) -> np.ndarray:
        """Control-point positions for one motion frame.

        Args:
            frame: Motion vector of length ``len(PARAMS)`` (canonical order).

        Returns:
            ``(N, 2)`` float32 positions in output pixels.
        """
        w = np.asarray(frame, dtype=np.float64)
        if w.shape != (len(PARAMS),):
            raise ValueError(f"motion frame must have {len(PARAMS)} values, got {w.shape}")
        # einsum, not matmul: no BLAS call on the render thread. With a multithreaded
        # OpenBLAS entered from two Python threads at once (this one and the planner's log-mel)
        # one clean-clone test run segfaulted inside this product.
        disp = np.einsum("k,kn->n", w[:_K], self.basis)
        pts = self.points + self.rest_offset + disp.reshape(-1, 2)
        yaw, pitch, roll = np.radians(w[self._yaw : self._yaw + 3])
        if yaw or pitch or roll:
            rot = _rotation(yaw, pitch, roll)
            p3 = np.concatenate([pts, self.z[:, None]], 1) - self.pivot
            moved = np.einsum("nj,ij->ni", p3, rot) + self.pivot
            pts = pts + self.head_w[:, None] * (moved[:, :2] - pts)
        return pts.astype(np.float32)

    def landmarks(self, frame: np.ndarray) -> np.ndarray:
        """Face landmark positions (first 478 control points) for one frame."""
        return self.positions(frame)[: self.n_landmarks]


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    r_yaw = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return r_roll @ r_pitch @ r_yaw
