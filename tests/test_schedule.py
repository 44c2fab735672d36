"""The step plan: warm-up and decay, and a schedule sized to a time budget from measured step times."""
from __future__ import annotations

import pytest

from qa.training.schedule import FIRST_REPLAN, REPLAN_EVERY, SKIPPED_STEPS, StepPlan


def run(plan: StepPlan, seconds_per_step, first_step: int = 0) -> list[float]:
    """Step through ``plan`` as a training loop does, each step taking ``seconds_per_step(step)``;
    the learning-rate factor of every step taken."""
    step, elapsed, factors = first_step, 0.0, []
    while step < plan.total:
        factors.append(plan.lr_factor(step))
        elapsed += seconds_per_step(step)
        step += 1
        out_of_time = plan.out_of_time(elapsed)
        plan.after_step(step, first_step, elapsed)
        if out_of_time and step < plan.total:
            break
    return factors


def test_without_a_budget_every_step_runs_and_the_rate_warms_then_decays_to_zero():
    plan = StepPlan(ceiling=100, warmup=0.1)
    factors = run(plan, lambda s: 1.0)
    assert len(factors) == 100 and plan.total == 100
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[-1] == pytest.approx(1 / 90)
    assert all(a >= b for a, b in zip(factors[9:], factors[10:])), "decays monotonically after warm-up"


def test_a_budget_sizes_the_schedule_to_the_measured_step_time():
    # slow first steps (not timed), then 2 s a step: 200 s hold about 100 steps, not the ceiling's 1000
    plan = StepPlan(ceiling=1000, warmup=0.1, budget_s=200.0)
    factors = run(plan, lambda s: 10.0 if s < SKIPPED_STEPS else 2.0)
    assert 85 <= len(factors) <= 95
    assert plan.total == len(factors), "the run ends where the schedule does, not cut off by the clock"
    assert factors[-1] < 0.02, "the last step is near the end of the decay"


def test_a_machine_that_slows_down_is_followed_by_later_estimates():
    plan = StepPlan(ceiling=10_000, warmup=0.0, budget_s=1000.0)
    first = {}

    def seconds(step: int) -> float:
        if step == SKIPPED_STEPS + FIRST_REPLAN + 1:
            first["total"] = plan.total
        return 1.0 if step < 200 else 4.0

    factors = run(plan, seconds)
    assert first["total"] > 900, "the first estimate, at 1 s a step"
    # 200 steps at 1 s, then the 800 s left hold 200 steps at 4 s: the pace since the last estimate
    assert 390 <= len(factors) <= 410, "later estimates shrank the run as steps took 4 s"
    assert plan.total == len(factors) and factors[-1] < 0.01, "ended by the schedule, not the clock"


def test_a_budget_never_runs_past_the_ceiling_and_the_clock_stops_a_run():
    plan = StepPlan(ceiling=30, warmup=0.1, budget_s=1e6)
    assert len(run(plan, lambda s: 1.0)) == 30
    plan = StepPlan(ceiling=1000, warmup=0.1, budget_s=5.0)
    assert len(run(plan, lambda s: 3.0)) == 2, "the budget is spent before any estimate"


def test_replanning_happens_on_the_documented_steps_only():
    plan = StepPlan(ceiling=10_000, warmup=0.0, budget_s=1e4)
    changed_at = []
    elapsed = 0.0
    for step in range(1, 200):
        elapsed += 1.0 + step * 1e-3   # slowly slower, so every estimate differs
        if plan.after_step(step, 0, elapsed):
            changed_at.append(step)
    first = SKIPPED_STEPS + FIRST_REPLAN
    assert changed_at == list(range(first, 200, REPLAN_EVERY))


def test_a_budget_must_be_positive():
    with pytest.raises(ValueError):
        StepPlan(ceiling=10, warmup=0.1, budget_s=0)


def test_a_run_that_reaches_its_ceiling_on_a_replanning_step_ends_there():
    ceiling = SKIPPED_STEPS + FIRST_REPLAN + REPLAN_EVERY   # the last step is a re-planning step
    plan = StepPlan(ceiling=ceiling, warmup=0.1, budget_s=1e9)
    assert len(run(plan, lambda s: 1.0)) == ceiling and plan.total == ceiling
