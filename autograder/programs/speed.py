"""``program = "speed"``: how long the student's layer takes against the reference's.

The grader's own clock times each forward and backward request (the best of REPEATS),
so nothing the worker reports is trusted. The reference is timed the same way, in a
worker of the same kind, on the solution, before any student code runs.
Full marks within RATIO times the reference's time; with 0 points (the default in
speed.toml) the part is feedback only, and a noisy machine never marks it failed.
"""
import time

import numpy as np

from .base import Program, build, draw_array, find_class, plain

REPEATS = 5
RATIO = 3.0


class Speed(Program):
    audited = False     # the mutation audit leaves it out: a timing

    def draw(self, case, rng, grading):
        return {"x": draw_array(case.spec, rng, case.spec["x"], np.dtype(case.dtype))}

    def expect(self, case, inputs, grading):
        return grading.reference_in_worker(case, inputs)

    def converse(self, session, case, inputs, grading):
        session.ask(inputs)
        best = [float("inf"), float("inf")]
        for _ in range(REPEATS):
            for i, call in enumerate(("forward", "backward")):
                start = time.perf_counter()
                session.ask(call=call)
                best[i] = min(best[i], time.perf_counter() - start)
        session.ask(call="end")
        return {"seconds": np.array(best)}

    def run(self, case, package, inputs, channel):
        spec = case["spec"]
        cls = find_class(package, spec)
        layer = build(cls, spec, np.dtype(spec.get("dtype", "float64")))
        x = inputs["x"]
        out = plain(layer.forward(x), f"{cls.__name__}.forward")
        grad_out = np.ones_like(out)
        channel.reply()
        while True:
            header, _ = channel.receive()
            if header.get("call") == "forward":
                layer.forward(x)
            elif header.get("call") == "backward":
                layer.backward(grad_out)
            else:
                return {}
            channel.reply()

    def judge(self, case, got, expected, inputs, grading):
        seconds = got["seconds"]
        if expected is None:
            return 1.0, f"Conv2d forward {seconds[0] * 1e3:.1f} ms, backward {seconds[1] * 1e3:.1f} ms"
        reference = expected["seconds"]
        ratio = seconds.sum() / reference.sum()
        fast_enough = ratio <= RATIO or case.max_score == 0
        shape = "x".join(map(str, case.spec["x"]))
        return (1.0 if fast_enough else 0.0), (
            f"{case.spec['cls']} forward+backward takes {ratio:.1f}x the reference's time "
            f"({seconds.sum() * 1e3:.1f} ms vs {reference.sum() * 1e3:.1f} ms on {shape})")


PROGRAM = Speed()
