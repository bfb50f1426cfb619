"""A request's life as a state machine: plain Python, no database, no web.

待受理 → 已派单 → 已接单 → 办理中 → 已办结 → 已评价, with 转派 (dispatch again, with a reason),
退回 (the assignee hands it back to the community, with a reason) and a reopening when the
resident is unsatisfied. Escalation changes who is watching (``level``), not the state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.StrEnum):
    pending = "pending"  # 待受理: waiting for the community's dispatcher
    dispatched = "dispatched"  # 已派单
    accepted = "accepted"  # 已接单
    in_progress = "in_progress"  # 办理中
    closed = "closed"  # 已办结
    rated = "rated"  # 已评价


STATE_LABELS = {
    State.pending: "待受理",
    State.dispatched: "已派单",
    State.accepted: "已接单",
    State.in_progress: "办理中",
    State.closed: "已办结",
    State.rated: "已评价",
}

OPEN = frozenset({State.pending, State.dispatched, State.accepted, State.in_progress})
"""States in which a request is still being worked (and can fall overdue)."""


class Action(enum.StrEnum):
    submit = "submit"
    dispatch = "dispatch"  # 派单; from an assigned state it is 转派
    accept = "accept"
    note = "note"
    give_back = "return"  # 退回
    close = "close"
    rate = "rate"
    reopen = "reopen"
    escalate = "escalate"


ACTION_LABELS = {
    Action.submit: "提交诉求",
    Action.dispatch: "派单",
    Action.accept: "接单",
    Action.note: "办理进展",
    Action.give_back: "退回",
    Action.close: "办结",
    Action.rate: "评价",
    Action.reopen: "重新办理",
    Action.escalate: "超时升级",
}

RATINGS = {"satisfied": "满意", "basically": "基本满意", "unsatisfied": "不满意"}


@dataclass(frozen=True)
class Transition:
    sources: frozenset[State]
    target: State | None  # None: the state stays
    needs_reason: bool = False


TRANSITIONS: dict[Action, Transition] = {
    Action.dispatch: Transition(frozenset(OPEN), State.dispatched),
    Action.accept: Transition(frozenset({State.dispatched}), State.accepted),
    Action.note: Transition(frozenset({State.accepted, State.in_progress}), State.in_progress),
    Action.give_back: Transition(
        frozenset({State.dispatched, State.accepted, State.in_progress}), State.pending, True
    ),
    Action.close: Transition(frozenset({State.accepted, State.in_progress}), State.closed),
    Action.rate: Transition(frozenset({State.closed}), State.rated),
    Action.reopen: Transition(frozenset({State.rated}), State.pending),
    Action.escalate: Transition(frozenset(OPEN), None),
}


class OutOfOrder(Exception):
    """An action the request's current state does not allow (HTTP 409 with the state)."""

    def __init__(self, action: Action, current: State) -> None:
        super().__init__(
            f"当前状态为“{STATE_LABELS[current]}”，不能{ACTION_LABELS[action]}，请刷新后重试"
        )
        self.action = action
        self.current = current


class ReasonRequired(ValueError):
    """退回 and 转派 must say why."""


def next_state(current: State, action: Action, reason: str | None = None) -> State:
    """The state after ``action`` from ``current``; raises :class:`OutOfOrder` if the action is
    not allowed there, :class:`ReasonRequired` if it needs a reason and has none.

    Dispatching a request that is already assigned is a 转派 and needs a reason too.
    """
    rule = TRANSITIONS[action]
    if current not in rule.sources:
        raise OutOfOrder(action, current)
    needs_reason = rule.needs_reason or (action is Action.dispatch and current is not State.pending)
    if needs_reason and not (reason and reason.strip()):
        label = "转派" if action is Action.dispatch else ACTION_LABELS[action]
        raise ReasonRequired(f"{label}需要填写原因")
    return rule.target or current
