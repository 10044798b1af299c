"""The alert state machine: grace, reminders with backoff, resolve grace, flap damping."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from collectors.alerts.state import reminder_interval_s, resolve_grace_s, step
from collectors.models.alerts import AlertState, Condition, Phase, Policy, Rule, Transition
from collectors.models.notify import Severity

US = 1_000_000
T0 = 1_750_406_400 * US
POLICY = Policy(grace_s=120, resolve_grace_s=300, remind_first_s=3600, remind_max_s=86400)


def cond(active: bool) -> Condition:
    return Condition(Rule.ENDPOINT_DOWN, "node", active, title="Node down", detail="refused")


def run(
    pattern: list[tuple[float, bool]], policy: Policy = POLICY
) -> list[tuple[float, Transition]]:
    """Feed (seconds since T0, active) and collect the messages."""
    state: AlertState | None = None
    said: list[tuple[float, Transition]] = []
    for seconds, active in pattern:
        state, transition = step(state, cond(active), T0 + int(seconds * US), policy)
        if transition:
            said.append((seconds, transition))
    return said


def every(
    step_s: float, until_s: float, active: bool, start_s: float = 0
) -> list[tuple[float, bool]]:
    out = []
    t = start_s
    while t <= until_s:
        out.append((t, active))
        t += step_s
    return out


def test_fires_only_after_the_grace_period() -> None:
    said = run(every(30, 240, True))
    assert said == [(120, Transition.FIRE)]


def test_a_blip_shorter_than_the_grace_is_never_announced() -> None:
    said = run([(0, True), (60, True), (90, False), (120, True), (180, True)])
    assert said == []


def test_zero_grace_fires_at_once() -> None:
    said = run([(0, True)], Policy(grace_s=0))
    assert said == [(0, Transition.FIRE)]


def test_reminders_back_off_and_cap_at_a_day() -> None:
    policy = Policy(grace_s=0, remind_first_s=3600, remind_max_s=86400)
    said = run(every(60, 4 * 86400, True), policy)
    times = [t for t, what in said if what is Transition.REMIND]
    gaps_h = [(b - a) / 3600 for a, b in zip([0.0, *times], times, strict=False)]
    assert gaps_h[:6] == [1, 2, 4, 8, 16, 24]
    assert all(g == 24 for g in gaps_h[5:])
    assert said[0] == (0, Transition.FIRE)


def test_resolves_once_clear_for_the_resolve_grace() -> None:
    pattern = every(30, 600, True) + every(30, 1200, False, start_s=630)
    said = run(pattern)
    assert said == [(120, Transition.FIRE), (930, Transition.RESOLVE)]


def test_flapping_is_damped_and_the_next_resolve_waits_longer() -> None:
    # Fires, then flips clear/active every two minutes for twenty minutes.
    pattern: list[tuple[float, bool]] = every(30, 300, True)
    t = 330.0
    for flip in range(10):
        pattern += every(30, t + 90, flip % 2 == 1, start_s=t)
        t += 120
    said = run(pattern)
    assert said == [(120, Transition.FIRE)]  # no resolve/fire spam while it flaps
    state: AlertState | None = None
    for seconds, active in pattern:
        state, _ = step(state, cond(active), T0 + int(seconds * US), POLICY)
    assert state is not None
    assert state.flips >= 4
    assert resolve_grace_s(POLICY, state.flips) > POLICY.resolve_grace_s


def test_pending_that_clears_returns_to_ok_silently() -> None:
    state, what = step(None, cond(True), T0, POLICY)
    assert state.phase is Phase.PENDING
    assert what is None
    state, what = step(state, cond(False), T0 + 60 * US, POLICY)
    assert state.phase is Phase.OK
    assert what is None


def test_a_new_episode_after_resolve_fires_again_with_a_new_opening() -> None:
    policy = Policy(grace_s=0, resolve_grace_s=0)
    first, _ = step(None, cond(True), T0, policy)
    resolved, what = step(first, cond(False), T0 + 60 * US, policy)
    assert what is Transition.RESOLVE
    assert resolved.opened_us == T0
    later = T0 + 5 * 3600 * US
    again, what = step(resolved, cond(True), later, policy)
    assert what is Transition.FIRE
    assert again.opened_us == later
    assert again.reminders == 0
    assert again.flips == 0


@given(st.integers(min_value=0, max_value=40))
def test_reminder_interval_never_exceeds_the_cap(n: int) -> None:
    assert POLICY.remind_first_s <= reminder_interval_s(POLICY, n) <= POLICY.remind_max_s


@given(st.lists(st.booleans(), min_size=1, max_size=200))
def test_never_two_fires_without_a_resolve_between(flags: list[bool]) -> None:
    state: AlertState | None = None
    last: Transition | None = None
    for i, active in enumerate(flags):
        state, what = step(state, cond(active), T0 + i * 60 * US, POLICY)
        if what in (Transition.FIRE, Transition.RESOLVE):
            assert what is not last
            last = what
        if what is Transition.REMIND:
            assert last is Transition.FIRE


def test_getting_worse_is_told_at_once() -> None:
    policy = Policy(grace_s=0)
    warning = Condition(Rule.FARM_ERROR, "farm", True, Severity.WARNING, "errors rising")
    error = Condition(Rule.FARM_ERROR, "farm", True, Severity.ERROR, "farm stopped")
    state, what = step(None, warning, T0, policy)
    assert what is Transition.FIRE
    state, what = step(state, warning, T0 + 60 * US, policy)
    assert what is None
    state, what = step(state, error, T0 + 120 * US, policy)
    assert what is Transition.REMIND
    assert state.title == "farm stopped"
    state, what = step(state, error, T0 + 180 * US, policy)
    assert what is None  # told once; reminders go on with the backoff
    state, what = step(state, warning, T0 + 240 * US, policy)
    assert what is None  # getting better is not news until it clears


def test_an_outage_that_keeps_coming_back_is_held_open_not_re_announced() -> None:
    # Down 10 minutes, up 20 minutes, for 12 hours: each outage longer than the resolve grace.
    pattern: list[tuple[float, bool]] = []
    for cycle in range(24):
        start = cycle * 1800.0
        pattern += every(60, start + 540, True, start_s=start)
        pattern += every(60, start + 1740, False, start_s=start + 600)
    said = run(pattern, Policy(grace_s=0, resolve_grace_s=300))
    fires = [t for t, what in said if what is Transition.FIRE]
    assert len(fires) <= 3  # not 24
    assert said[0] == (0, Transition.FIRE)
