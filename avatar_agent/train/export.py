"""ONNX export of the one-step student, int8 quantisation with calibration, parity check.

The exported graph is the whole one-step generator in raw units: it normalises the context
motion and the log-mel, runs the student once at the largest timestep from the given noise,
applies the consistency scalings and de-normalises. Inputs (``B`` streams, ``C`` context,
``n`` generated and ``A`` look-ahead frames, ``L = C + n + A``):

========== ================ =============================================
name       shape            meaning
========== ================ =============================================
context    (B, C, 55)       previous motion frames (raw units)
noise      (B, n, 55)       standard normal noise of the frames to make
mel        (B, 4L, 80)      log-mel of the window (``LogMel`` features)
role       (B, L, 3)        one-hot: context / generate / look-ahead
state      (B, L, 4)        one-hot state label per frame
expression (B, L, 6)        expression vector per frame
motion     (B, n, 55)       output: generated motion (raw units)
========== ================ =============================================
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from avatar_agent.train.config import TrainConfig
from avatar_agent.train.diffusion import T_TRAIN, make_schedulers
from avatar_agent.train.model import MotionDenoiser
from avatar_agent.train.windows import WindowSampler

__all__ = ["FLOAT_NODES", "OneStep", "export_onnx", "quantize_int8", "parity", "INPUT_NAMES"]

INPUT_NAMES = ("context", "noise", "mel", "role", "state", "expression")


class OneStep(nn.Module):
    """The student as a one-step generator in raw units (what the ONNX file computes)."""

    def __init__(self, student: MotionDenoiser, lookahead: int) -> None:
        """Wrap a student.

        Args:
            student: Distilled consistency model.
            lookahead: Look-ahead frames ``A`` (fixed in the graph).
        """
        super().__init__()
        self.student = student
        self.lookahead = lookahead
        _, _, lcm = make_schedulers()
        c_skip, c_out = lcm.get_scalings_for_boundary_condition_discrete(
            torch.tensor(float(T_TRAIN - 1))
        )
        self.c_skip, self.c_out = float(c_skip), float(c_out)

    def forward(
        self,
        context: torch.Tensor,
        noise: torch.Tensor,
        mel: torch.Tensor,
        role: torch.Tensor,
        state: torch.Tensor,
        expression: torch.Tensor,
    ) -> torch.Tensor:
        """Generate ``n`` frames (see the module table)."""
        s = self.student
        ctx = s.normalize_motion(context)
        la = torch.zeros_like(noise[:, :1, :]).repeat(1, self.lookahead, 1)
        x = torch.cat([ctx, noise, la], dim=1)
        t = torch.full_like(noise[:, 0, 0], float(T_TRAIN - 1))
        out = s(x, t, role, s.normalize_mel(mel), state, expression)
        c = context.shape[1]
        gen = out[:, c : out.shape[1] - self.lookahead]
        return s.denormalize_motion(self.c_skip * noise + self.c_out * gen)


def _example(cfg: TrainConfig, sampler: WindowSampler, n: int, batch: int = 1) -> dict:
    b = sampler.sample(batch, n=n)
    c = cfg.context
    rng = np.random.default_rng(cfg.seed + 7)
    return {
        "context": b.motion[:, :c].astype(np.float32),
        "noise": rng.standard_normal((batch, n, b.motion.shape[2])).astype(np.float32),
        "mel": b.mel.astype(np.float32),
        "role": b.role,
        "state": b.state,
        "expression": b.expression,
    }


def export_onnx(
    student: MotionDenoiser, cfg: TrainConfig, sampler: WindowSampler, path: Path
) -> Path:
    """Export the one-step generator to ONNX (fp32) with dynamic batch and chunk length.

    Args:
        student: Distilled student.
        cfg: Training config (context, chunk, look-ahead are written into the metadata).
        sampler: For an example input.
        path: Output ``.onnx`` path.

    Returns:
        The path.
    """
    wrapper = OneStep(student.eval(), cfg.lookahead).eval()
    ex = _example(cfg, sampler, cfg.chunk)
    args = tuple(torch.from_numpy(ex[k]) for k in INPUT_NAMES)
    dyn = {
        "context": {0: "batch"},
        "noise": {0: "batch", 1: "n"},
        "mel": {0: "batch", 1: "mel_frames"},
        "role": {0: "batch", 1: "window"},
        "state": {0: "batch", 1: "window"},
        "expression": {0: "batch", 1: "window"},
        "motion": {0: "batch", 1: "n"},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        wrapper,
        args,
        str(path),
        input_names=list(INPUT_NAMES),
        output_names=["motion"],
        dynamic_axes=dyn,
        opset_version=17,
        dynamo=False,
    )
    model = onnx.load(str(path))
    meta = {
        "avatar_agent.fps": "25",
        "avatar_agent.context": str(cfg.context),
        "avatar_agent.chunk": str(cfg.chunk),
        "avatar_agent.lookahead": str(cfg.lookahead),
        "avatar_agent.mels_per_frame": "4",
        "avatar_agent.config": json.dumps(cfg.to_dict()),
    }
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, str(path))
    return path


class _Calibration:
    """ONNX Runtime calibration reader over training windows of every chunk length."""

    def __init__(self, cfg: TrainConfig, sampler: WindowSampler) -> None:
        ns = [cfg.chunk, 1, 2, 4] + list(range(1, cfg.chunk + 1))
        self._items = iter(
            [_example(cfg, sampler, ns[i % len(ns)]) for i in range(cfg.calib_windows)]
        )

    def get_next(self) -> dict | None:
        return next(self._items, None)


FLOAT_NODES = ("/inp/Conv",)
"""Name endings of the nodes kept in float: the backbone's input projection. Its input joins
the noisy and context motion with one-hot roles, states and expressions, whose ranges differ
by orders of magnitude; one uint8 scale for all of them erased the small ones. Kept in float,
the int8 student's mean difference from fp32 fell from 0.041-0.082 to 0.0037-0.0041 on three
trained students (lip opening 0.0045-0.035 -> 0.0021-0.0023), for one of 29 layers
(``scripts/quant_check.py --run RUN`` quantises each layer alone and compares)."""


def quantize_int8(
    fp32: Path,
    out: Path,
    cfg: TrainConfig,
    sampler: WindowSampler,
    *,
    float_nodes: tuple[str, ...] = FLOAT_NODES,
) -> Path:
    """Static int8 quantisation (QDQ, per-channel weights) calibrated on training windows.

    Args:
        fp32: The fp32 model.
        out: Output path.
        cfg: Config (``calib_windows``).
        sampler: Window sampler for calibration data.
        float_nodes: Name endings of nodes kept in float (default :data:`FLOAT_NODES`).

    Returns:
        The int8 model path.
    """
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = out.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    keep = [n.name for n in onnx.load(str(pre)).graph.node if n.name.endswith(float_nodes)]
    quantize_static(
        str(pre),
        str(out),
        _Calibration(cfg, sampler),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        weight_type=QuantType.QInt8,
        activation_type=QuantType.QUInt8,
        calibrate_method=CalibrationMethod.MinMax,
        op_types_to_quantize=["Conv", "MatMul", "Gemm"],
        nodes_to_exclude=keep,
    )
    pre.unlink(missing_ok=True)
    src, dst = onnx.load(str(fp32)), onnx.load(str(out))
    del dst.metadata_props[:]
    dst.metadata_props.extend(src.metadata_props)
    onnx.save(dst, str(out))
    return out


def parity(a: Path, b: Path, cfg: TrainConfig, sampler: WindowSampler, n: int = 64) -> dict:
    """Compare two ONNX generators on the same windows.

    Args:
        a: Reference model (fp32).
        b: Model under test (int8).
        cfg: Config.
        sampler: Windows.
        n: Number of windows.

    Returns:
        ``{"max_abs", "mean_abs", "open_mean_abs"}`` differences in raw units (lip opening
        = ``jawOpen - mouthClose``).
    """
    import onnxruntime as ort

    from avatar_agent.train.diffusion import lip_opening

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sa = ort.InferenceSession(str(a), opts, providers=["CPUExecutionProvider"])
    sb = ort.InferenceSession(str(b), opts, providers=["CPUExecutionProvider"])
    diffs, odiffs = [], []
    for i in range(n):
        ex = _example(cfg, sampler, 1 + i % cfg.chunk)
        ya = sa.run(None, ex)[0]
        yb = sb.run(None, ex)[0]
        diffs.append(np.abs(ya - yb))
        odiffs.append(np.abs(lip_opening(ya) - lip_opening(yb)))
    d = np.concatenate([x.ravel() for x in diffs])
    o = np.concatenate([x.ravel() for x in odiffs])
    return {
        "max_abs": float(d.max()),
        "mean_abs": float(d.mean()),
        "open_mean_abs": float(o.mean()),
    }
