"""How many steps a training run takes, and its learning rate at each: warm-up, then linear decay.

Why: a run on a lent GPU or in a CPU session has a fixed time, not a fixed number of steps. A run
stopped by the clock halfway through its decay ends at a high learning rate (the 900-step distilled
run of reader v3's line was stopped at step 700). With a time budget the plan measures the seconds a
step takes and sizes the schedule to end, decayed, when the time does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

SKIPPED_STEPS = 2      # the first steps of a process are slow (kernels chosen, memory allocated): not timed
FIRST_REPLAN = 10      # steps timed before the first estimate
REPLAN_EVERY = 50      # then re-estimated this often, as the machine's speed drifts


@dataclass
class StepPlan:
    """``total`` steps (at most ``ceiling``, the steps the epochs or ``--max-steps`` ask for), ``warmup``
    as a share of them. ``budget_s``: seconds of training steps this process may spend (loading, data,
    checkpoints, evaluation and export not counted); ``None`` runs all ``ceiling`` steps."""

    ceiling: int
    warmup: float
    budget_s: float | None = None
    total: int = 0
    _timed_from: tuple[int, float] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.budget_s is not None and self.budget_s <= 0:
            raise ValueError(f"the time budget must be above 0 seconds, not {self.budget_s}")
        if not self.total:
            self.total = self.ceiling

    @property
    def warm(self) -> int:
        return max(1, int(self.total * self.warmup))

    def lr_factor(self, step: int) -> float:
        """The share of the peak learning rate at ``step`` (0-based): linear warm-up, then linear decay to 0
        at ``total``."""
        warm = self.warm
        return min((step + 1) / warm, max(0.0, (self.total - step) / max(1, self.total - warm)))

    def after_step(self, step: int, first_step: int, elapsed_s: float) -> bool:
        """Called after each step (``step`` steps done, ``first_step`` where this process began, ``elapsed_s``
        since then): re-sizes ``total`` to the budget when it is time to. True when ``total`` changed."""
        if self.budget_s is None:
            return False
        done = step - first_step
        if done == SKIPPED_STEPS:
            self._timed_from = (step, elapsed_s)
        if self._timed_from is None:
            return False
        timed = step - self._timed_from[0]
        if timed != (FIRST_REPLAN if self._timed_from[0] == first_step + SKIPPED_STEPS else REPLAN_EVERY):
            return False
        # the pace of the steps since the last estimate: a machine that slows down (another job on
        # its cores) is followed within one stretch
        per_step = (elapsed_s - self._timed_from[1]) / timed
        self._timed_from = (step, elapsed_s)
        left = self.budget_s - elapsed_s
        planned = step + (math.floor(left / per_step) if per_step > 0 else self.ceiling)
        planned = min(self.ceiling, max(step + 1, planned))   # never past the batches there are
        changed, self.total = planned != self.total, planned
        return changed

    def out_of_time(self, elapsed_s: float) -> bool:
        """The budget is spent (a slower stretch than the estimate): stop after this step."""
        return self.budget_s is not None and elapsed_s >= self.budget_s
