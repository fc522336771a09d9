"""Dense backward warp maps from sparse control-point displacements.

At load time the control points are triangulated (Delaunay) and every node of
a coarse grid over the region of interest gets the three vertices and
barycentric weights of the triangle that holds it. Per frame, the forward
displacement at the grid nodes is three gathers and a sum; the backward map
(where each output pixel samples the portrait) is its fixed-point inverse,
refined on the coarse grid, then upsampled with one ``cv2.resize``.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["WarpField", "delaunay"]


def delaunay(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles of 2-D points as an ``(T, 3)`` int32 index array.

    Args:
        points: ``(N, 2)`` distinct points.

    Returns:
        Vertex indices of each triangle.
    """
    pts = np.asarray(points, dtype=np.float64)
    lo = pts.min(0) - 10.0
    hi = pts.max(0) + 10.0
    subdiv = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1))
    vid_to_idx: dict[int, int] = {}
    for i, (x, y) in enumerate(pts):
        vid = subdiv.insert((float(x), float(y)))
        vid_to_idx.setdefault(vid, i)
    tris = []
    for e in subdiv.getLeadingEdgeList():
        tri = []
        edge = e
        for _ in range(3):
            org = subdiv.edgeOrg(edge)[0]
            tri.append(org)
            edge = subdiv.getEdge(edge, cv2.Subdiv2D_NEXT_AROUND_LEFT)
        if edge != e or any(v not in vid_to_idx for v in tri):
            continue
        tris.append(tuple(vid_to_idx[v] for v in tri))
    tri_arr = np.unique(np.sort(np.array(tris, dtype=np.int32), axis=1), axis=0)
    # drop degenerate triangles
    a, b, c = pts[tri_arr[:, 0]], pts[tri_arr[:, 1]], pts[tri_arr[:, 2]]
    ab, ac = b - a, c - a
    area = np.abs(ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0])
    return tri_arr[area > 1e-6]


class WarpField:
    """Turns control-point displacements into a backward map over a fixed region.

    Args:
        points: ``(N, 2)`` reference control-point positions (pixels).
        roi: ``(x0, y0, x1, y1)`` region whose pixels may move; control points
            on its border must carry zero displacement.
        step: Grid spacing in pixels (coarse grid resolution).
        iterations: Fixed-point refinement steps of the inverse.
    """

    def __init__(
        self,
        points: np.ndarray,
        roi: tuple[int, int, int, int],
        *,
        step: float = 4.0,
        iterations: int = 3,
    ) -> None:
        self.roi = roi
        x0, y0, x1, y1 = roi
        self.width, self.height = w, h = x1 - x0, y1 - y0
        self.gw = gw = max(2, int(round(w / step)))
        self.gh = gh = max(2, int(round(h / step)))
        self.iterations = iterations
        # grid node j sits where cv2.resize((gw,gh) -> (w,h)) samples it exactly
        self.sx, self.sy = w / gw, h / gh
        gx = x0 + (np.arange(gw) + 0.5) * self.sx - 0.5
        gy = y0 + (np.arange(gh) + 0.5) * self.sy - 0.5
        nodes = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)
        self.nodes = nodes.reshape(gh, gw, 2).astype(np.float32)
        self.triangles = delaunay(points)
        self.index, self.weights = _barycentric(points, self.triangles, nodes)
        px, py = np.meshgrid(
            np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32)
        )
        self._identity = np.dstack([px, py])

    def forward(self, displacement: np.ndarray) -> np.ndarray:
        """Forward displacement at the grid nodes, ``(gh, gw, 2)`` float32."""
        d = np.asarray(displacement, dtype=np.float32)
        g = np.einsum("mk,mkc->mc", self.weights, d[self.index])
        return g.reshape(self.gh, self.gw, 2)

    def backward_map(self, displacement: np.ndarray) -> np.ndarray:
        """Backward sampling map for the region of interest.

        Args:
            displacement: ``(N, 2)`` target minus reference position of each
                control point.

        Returns:
            ``(h, w, 2)`` float32 absolute source coordinates, for ``cv2.remap``.
        """
        fwd = self.forward(displacement)
        src = self.nodes - fwd
        x0, y0 = self.roi[0], self.roi[1]
        for _ in range(self.iterations):
            mx = (src[..., 0] - x0 + 0.5) / self.sx - 0.5
            my = (src[..., 1] - y0 + 0.5) / self.sy - 0.5
            d_at = cv2.remap(fwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            src = self.nodes - d_at
        # upsample the displacement, not the coordinates: the grid does not reach the
        # region's outer half-cells, where resize clamps (harmless for a displacement
        # that is zero at the border, wrong for coordinates)
        back = cv2.resize(
            src - self.nodes, (self.width, self.height), interpolation=cv2.INTER_LINEAR
        )
        back += self._identity
        return back


def _barycentric(
    points: np.ndarray, triangles: np.ndarray, nodes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Containing triangle and barycentric weights of each node."""
    m = len(nodes)
    index = np.zeros((m, 3), np.int32)
    weights = np.zeros((m, 3), np.float32)
    best = np.full(m, -np.inf)
    pts = np.asarray(points, dtype=np.float64)
    nx, ny = nodes[:, 0], nodes[:, 1]
    for tri in triangles:
        a, b, c = pts[tri]
        lo = np.minimum(np.minimum(a, b), c) - 1.0
        hi = np.maximum(np.maximum(a, b), c) + 1.0
        sel = np.nonzero((nx >= lo[0]) & (nx <= hi[0]) & (ny >= lo[1]) & (ny <= hi[1]))[0]
        if sel.size == 0:
            continue
        v0, v1 = b - a, c - a
        den = v0[0] * v1[1] - v1[0] * v0[1]
        px, py = nx[sel] - a[0], ny[sel] - a[1]
        l1 = (px * v1[1] - v1[0] * py) / den
        l2 = (v0[0] * py - px * v0[1]) / den
        l0 = 1.0 - l1 - l2
        score = np.minimum(np.minimum(l0, l1), l2)
        upd = score > best[sel]
        if not upd.any():
            continue
        s = sel[upd]
        best[s] = score[upd]
        index[s] = tri
        weights[s] = np.stack([l0[upd], l1[upd], l2[upd]], 1)
    # nodes outside every triangle (numerically on the hull) keep the nearest triangle's
    # clamped weights
    np.clip(weights, 0.0, 1.0, out=weights)
    weights /= np.maximum(weights.sum(1, keepdims=True), 1e-6)
    return index, weights
