"""The alert state machine: pure, one step per (rule, subject) and evaluation.

Fire once the condition has held for its grace period, remind with growing intervals while it
persists (at once if it got worse), resolve once it has been clear for the resolve grace. A
condition that comes back while clearing (flapping) re-opens silently and lengthens the next
resolve grace.
"""

from __future__ import annotations

from dataclasses import replace

from collectors.models.alerts import AlertState, Condition, Phase, Policy, Transition
from collectors.models.notify import Severity

US = 1_000_000


def reminder_interval_s(policy: Policy, reminders_sent: int) -> float:
    """1 h, 2 h, 4 h … capped (with the defaults)."""
    return min(policy.remind_max_s, policy.remind_first_s * (2.0**reminders_sent))


def resolve_grace_s(policy: Policy, flips: int) -> float:
    if flips == 0:
        return policy.resolve_grace_s
    return min(policy.flap_cap_s, policy.resolve_grace_s * policy.flap_factor**flips)


def initial_state(condition: Condition) -> AlertState:
    return AlertState(rule=condition.rule, subject=condition.subject)


def step(
    prev: AlertState | None, condition: Condition, now_us: int, policy: Policy
) -> tuple[AlertState, Transition | None]:
    """The state after seeing ``condition`` at ``now_us``, and the message to send, if any."""
    state = prev or initial_state(condition)
    if condition.active:
        escalated = state.phase is Phase.FIRING and _rank(condition.severity) > _rank(
            state.severity
        )
        state = replace(
            state,
            severity=condition.severity,
            title=condition.title or state.title,
            detail=condition.detail,
        )
        if escalated:
            # Worse than what was announced (farming errors, then the farm stopped): say so now.
            return replace(
                state, reminders=state.reminders + 1, last_notified_us=now_us, updated_us=now_us
            ), Transition.REMIND
        return _while_active(state, now_us, policy)
    return _while_clear(state, now_us, policy)


def _rank(severity: Severity) -> int:
    return {Severity.INFO: 0, Severity.SUCCESS: 0, Severity.WARNING: 1, Severity.ERROR: 2}[severity]


def _while_active(
    state: AlertState, now_us: int, policy: Policy
) -> tuple[AlertState, Transition | None]:
    if state.phase is Phase.OK:
        state = replace(state, phase=Phase.PENDING, since_us=now_us, updated_us=now_us)
    if state.phase is Phase.PENDING:
        since = state.since_us if state.since_us is not None else now_us
        if now_us - since >= policy.grace_s * US:
            # Back soon after a resolve: the same flapping problem, so resolve slower this time.
            recent = (
                state.resolved_us is not None
                and now_us - state.resolved_us < policy.flap_cap_s * US
            )
            fired = replace(
                state,
                phase=Phase.FIRING,
                opened_us=now_us,
                last_notified_us=now_us,
                reminders=0,
                clear_since_us=None,
                flips=state.flips + 1 if recent else 0,
                resolved_us=None,
                updated_us=now_us,
            )
            return fired, Transition.FIRE
        return state, None
    if state.phase is Phase.CLEARING:
        # Came back before the resolve grace ran out: no message, damp the next resolve.
        state = replace(
            state,
            phase=Phase.FIRING,
            clear_since_us=None,
            flips=state.flips + 1,
            updated_us=now_us,
        )
    # FIRING: remind when due.
    last = state.last_notified_us if state.last_notified_us is not None else now_us
    if policy.remind and now_us - last >= reminder_interval_s(policy, state.reminders) * US:
        reminded = replace(
            state, reminders=state.reminders + 1, last_notified_us=now_us, updated_us=now_us
        )
        return reminded, Transition.REMIND
    return state, None


def _while_clear(
    state: AlertState, now_us: int, policy: Policy
) -> tuple[AlertState, Transition | None]:
    if state.phase is Phase.OK:
        return state, None
    if state.phase is Phase.PENDING:
        return replace(state, phase=Phase.OK, since_us=None, updated_us=now_us), None
    if state.phase is Phase.FIRING:
        state = replace(state, phase=Phase.CLEARING, clear_since_us=now_us, updated_us=now_us)
    clear_since = state.clear_since_us if state.clear_since_us is not None else now_us
    if now_us - clear_since >= resolve_grace_s(policy, state.flips) * US:
        resolved = replace(
            state,
            phase=Phase.OK,
            since_us=None,
            clear_since_us=None,
            resolved_us=now_us,
            updated_us=now_us,
        )
        return resolved, Transition.RESOLVE
    return state, None
