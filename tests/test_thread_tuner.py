"""engine.threads.ThreadTuner: chooses 1 or more torch threads by the step rates it measures,
and measures again when the load changes (issue 24). A simulated clock and step times stand in
for the machine: on 2 threads the step takes 0.09 s quiet and 0.28 s beside a busy process, on
one thread 0.16 s and 0.17 s (the DCGAN's rates on the 2-core machine, README "Threads")."""
from __future__ import annotations

from ganplay.engine.config import Config
from ganplay.engine.presets import apply_preset
from ganplay.engine.threads import ThreadTuner, tuner_for

STEP_S = {("quiet", 2): 0.09, ("quiet", 1): 0.16, ("busy", 2): 0.28, ("busy", 1): 0.17,
          ("odd", 2): 0.20, ("odd", 1): 0.16}   # odd: a core idle, yet two threads are slower


class Machine:
    def __init__(self) -> None:
        self.now = 0.0
        self.load = "quiet"
        self.threads = 0
        self.steps = {1: 0, 2: 0}

    def set_threads(self, n: int) -> None:
        self.threads = n

    def clock(self) -> float:
        return self.now

    def idle(self) -> float:
        """Idle cores as /proc/stat would say: one thread of ours on 2 cores leaves one idle."""
        return 0.0 if self.load == "busy" else 2.0 - self.threads

    def run(self, tuner: ThreadTuner, seconds: float) -> None:
        end = self.now + seconds
        while self.now < end:
            dt = STEP_S[(self.load, self.threads)]
            self.now += dt
            self.steps[self.threads] += 1
            tuner.observe(dt)


def test_quiet_it_keeps_both_threads_and_beside_a_busy_process_one() -> None:
    m = Machine()
    tuner = ThreadTuner(2, set_threads=m.set_threads, clock=m.clock, idle_cores=m.idle)
    assert m.threads == 2
    m.run(tuner, 10)
    assert tuner.threads == m.threads == 2
    m.steps = {1: 0, 2: 0}
    m.run(tuner, 120)
    # holding, the probes of one thread take under 3 % of the steps
    assert m.steps[1] / (m.steps[1] + m.steps[2]) < 0.03
    m.load = "busy"
    m.run(tuner, 5)                       # a quarter slower: measured again within seconds
    assert tuner.threads == m.threads == 1
    m.steps = {1: 0, 2: 0}
    m.run(tuner, 120)
    assert m.steps[2] / (m.steps[1] + m.steps[2]) < 0.05
    m.load = "quiet"
    m.run(tuner, 2)                       # the load left: the idle core says so at the next window
    assert tuner.threads == m.threads == 2


def test_an_idle_core_that_does_not_help_is_not_tried_again_and_again() -> None:
    m = Machine()
    m.load = "odd"
    tuner = ThreadTuner(2, set_threads=m.set_threads, clock=m.clock, idle_cores=m.idle)
    m.run(tuner, 5)
    assert tuner.threads == 1
    m.steps = {1: 0, 2: 0}
    m.run(tuner, 120)
    assert m.steps[2] / (m.steps[1] + m.steps[2]) < 0.05


def test_rates_over_the_whole_run_come_near_the_best_fixed_choice() -> None:
    m = Machine()
    tuner = ThreadTuner(2, set_threads=m.set_threads, clock=m.clock, idle_cores=m.idle)
    done = 0
    for load in ("quiet", "busy") * 3:    # load comes and goes every two minutes
        m.load = load
        before = sum(m.steps.values())
        m.run(tuner, 120)
        done += sum(m.steps.values()) - before
    best = 3 * 120 / STEP_S[("quiet", 2)] + 3 * 120 / STEP_S[("busy", 1)]
    assert done >= 0.95 * best             # an oracle that knows the load
    assert done > 1.1 * (3 * 120 / STEP_S[("quiet", 2)] + 3 * 120 / STEP_S[("busy", 2)])   # fixed 2 threads


def test_one_thread_workloads_get_no_tuner() -> None:
    stable = apply_preset("stable", Config())
    stable.train.device = "cpu"
    assert tuner_for(stable, cores=2) is None
    dcgan = Config()
    dcgan.data.name = "mnist"
    dcgan.train.device = "cpu"
    dcgan = apply_preset("dcgan", dcgan)
    t = tuner_for(dcgan, cores=2)
    assert t is not None and t.most == 2
    dcgan.train.threads = 2                # the user's number is kept as it is
    assert tuner_for(dcgan, cores=2) is None
    assert tuner_for(dcgan, cores=1) is None
