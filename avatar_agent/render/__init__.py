"""Rendering: rig, warp, eyelids, mouth interior and the CPU renderer."""
