"""Training of the motion generator.

Corpus, motion targets, diffusion teacher, consistency distillation, ONNX export and
evaluation. Needs the ``train`` extra (PyTorch, diffusers); the runtime never imports it.
"""
