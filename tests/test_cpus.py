"""`available_cpus`: the CPUs the process may run on, capped by a cgroup's CPU time limit."""

from __future__ import annotations

import os
from pathlib import Path

from pyjaeger.cpus import available_cpus


def test_no_cgroup_limit_means_every_cpu_the_process_may_use(tmp_path: Path) -> None:
    assert available_cpus(tmp_path) == len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(tmp_path) == len(os.sched_getaffinity(0))


def test_a_cgroup_v2_limit_caps_it_rounded_up(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a CPU: one process still
    assert available_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert available_cpus(tmp_path) == min(2, len(os.sched_getaffinity(0)))


def test_a_cgroup_v1_quota_caps_it(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(tmp_path) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")  # no quota
    assert available_cpus(tmp_path) == len(os.sched_getaffinity(0))
