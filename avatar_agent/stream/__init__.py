"""Building blocks of the real-time engine (:mod:`avatar_agent.engine`).

One job per module: ``clock`` (real and simulated time), ``timeline`` (exact rational frame
boundaries), ``fifo`` (sample queues), ``segments`` (speech intake and the resampling
thread), ``planner`` (the motion stage thread), ``render_stage`` (the render thread),
``shared`` (state the threads share under one lock), ``metrics`` and ``types`` (the public
data types re-exported by the engine).
"""
