"""Time budgets: how the training loops keep drawing and measuring from slowing training."""
from __future__ import annotations


class Budget:
    """Schedules a costly job so that it takes at most ``fraction`` of the wall-clock time.

    After a job that took c seconds the next one waits at least max(min_interval, c / fraction):
    cheap frames go out at up to 30/s, expensive ones (big D, D*) slow down instead of slowing
    training.
    """

    def __init__(self, fraction: float, min_interval: float, max_interval: float = 1.0):
        self.fraction = fraction
        self.min_interval = min_interval
        # A one-off slow job (the first call warms up torch and scipy) must not freeze the view
        # for seconds: the wait never exceeds max_interval.
        self.max_interval = max_interval
        self.next_at = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def spent(self, start: float, end: float) -> None:
        wait = max(self.min_interval, (end - start) / self.fraction - (end - start))
        self.next_at = end + min(wait, max(self.max_interval, self.min_interval))

    def force(self) -> None:
        self.next_at = 0.0
