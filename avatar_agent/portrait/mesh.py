"""Landmark index sets of the MediaPipe 478-point face mesh.

Pure constants, so the runtime can use a bundle's mesh without MediaPipe.
"Left"/"right" are the subject's own (the subject's left eye is on the image's
right). Contours are ordered around the feature.
"""

from __future__ import annotations

N_LANDMARKS = 478
"""Points per face (468 mesh points + 10 iris points)."""

LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER = (291, 375, 321, 405, 314, 17, 84, 181, 91, 146, 61)
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER = (308, 324, 318, 402, 317, 14, 87, 178, 88, 95, 78)
LIPS_OUTER = LIPS_OUTER_UPPER + LIPS_OUTER_LOWER[1:-1]
"""Closed outer lip contour, starting at the right mouth corner (image left)."""
LIPS_INNER = LIPS_INNER_UPPER + LIPS_INNER_LOWER[1:-1]
"""Closed inner lip contour (the mouth opening)."""

RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_EYE = RIGHT_EYE_UPPER + tuple(reversed(RIGHT_EYE_LOWER[1:-1]))
LEFT_EYE = LEFT_EYE_UPPER + tuple(reversed(LEFT_EYE_LOWER[1:-1]))

RIGHT_IRIS = (468, 469, 470, 471, 472)
"""Centre first, then four rim points."""
LEFT_IRIS = (473, 474, 475, 476, 477)

RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
RIGHT_BROW_INNER = (107, 66, 55, 65)
LEFT_BROW_INNER = (336, 296, 285, 295)
RIGHT_BROW_OUTER = (70, 63, 46, 53)
LEFT_BROW_OUTER = (300, 293, 276, 283)

FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
"""Closed face outline, clockwise in the image from the top of the forehead."""

NOSE_TIP = 1
CHIN = 152
MOUTH_RIGHT = 61
MOUTH_LEFT = 291
LOWER_LIP_BOTTOM = 17
INNER_UPPER_MID = 13
INNER_LOWER_MID = 14
