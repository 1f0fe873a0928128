from ganplay.live.budget import Budget


def test_budget_spreads_cost_but_never_stalls_after_a_slow_first_job():
    b = Budget(0.06, 1 / 30, max_interval=1.0)
    b.spent(0.0, 0.001)  # a cheap frame: next one after the 1/30 s floor
    assert b.next_at == 0.001 + 1 / 30
    b.spent(10.0, 10.012)  # 12 ms at 6 % -> wait ~188 ms
    assert abs(b.next_at - (10.012 + 0.012 / 0.06 - 0.012)) < 1e-9
    b.spent(20.0, 20.5)  # a 0.5 s warm-up would mean 7.8 s without the cap
    assert b.next_at == 21.5
    assert not b.due(21.0) and b.due(21.5)
    b.force()
    assert b.due(0.0)
