"""Ctrl-C while an encoder pass runs in the batcher's worker thread exits 130, not an abort (134)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys, threading
    import torch
    from index.batching import ForwardBatcher
    from qa.cli import ended

    started = threading.Event()

    def run(ids, mask):   # a pass that is still inside torch when the process ends
        started.set()
        x = torch.randn(1500, 1500)
        for _ in range(400):
            x = torch.tanh(x @ x)
        return (ids,)

    batcher = ForwardBatcher(run, 0)
    ids = torch.zeros(1, 3, dtype=torch.long)
    threading.Thread(target=lambda: batcher(ids, torch.ones_like(ids)), daemon=True).start()
    started.wait()
    print("interrupted", file=sys.stderr)
    sys.exit(ended(130))   # what qa's main does after run() caught the KeyboardInterrupt
""")


def test_an_interrupt_during_a_forward_pass_exits_130_with_its_message():
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "interrupted"


def test_without_a_pass_running_the_status_is_returned():
    from index.batching import forward_passes_running
    from qa.cli import ended

    assert forward_passes_running() == 0
    assert ended(130) == 130 and ended(0) == 0
