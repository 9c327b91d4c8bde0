"""Telegram's flood limits and injected faults, both off unless a test turns them on."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from dataclasses import dataclass, field


class Clock:
    """Emulated seconds: real monotonic time times `speed`, plus manual advances.

    Limits are stated in Telegram's seconds; a fast clock lets a test see a minute-long
    window pass in a fraction of a real second without scaling the numbers themselves.
    """

    def __init__(self, speed: float = 1.0) -> None:
        self._speed = speed
        self._real0 = time.monotonic()
        self._emulated0 = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        now = self.now()
        self._speed = value
        self._real0 = time.monotonic()
        self._emulated0 = now

    def now(self) -> float:
        return self._emulated0 + (time.monotonic() - self._real0) * self._speed

    def advance(self, seconds: float) -> None:
        self._emulated0 += seconds

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self._speed)


@dataclass
class RateLimits:
    """Defaults are the numbers Telegram publishes for bots (its Bots FAQ)."""

    enabled: bool = False
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    per_group_per_minute: int = 20
    global_per_second: int = 30
    # Sends and edits both count toward the flood limits in Telegram.
    methods: frozenset[str] = frozenset(
        {
            "sendMessage",
            "sendPhoto",
            "sendDocument",
            "sendMediaGroup",
            "copyMessage",
            "forwardMessage",
            "editMessageText",
            "editMessageCaption",
            "editMessageReplyMarkup",
        }
    )


class RateLimiter:
    def __init__(self, clock: Clock, limits: RateLimits) -> None:
        self.clock = clock
        self.limits = limits
        self._buckets: dict[int, tuple[float, float]] = {}
        self._group_windows: dict[int, deque[float]] = {}
        self._global_window: deque[float] = deque()
        self.hits: list[tuple[str, int, int]] = []

    def reset(self) -> None:
        self._buckets.clear()
        self._group_windows.clear()
        self._global_window.clear()

    def check(self, method: str, chat_id: int, is_group: bool) -> int | None:
        """Count one call; return retry_after (whole seconds) when it must be refused."""
        limits = self.limits
        if not limits.enabled or method not in limits.methods:
            return None
        now = self.clock.now()
        waits: list[float] = []
        tokens, stamp = self._buckets.get(chat_id, (float(limits.per_chat_burst), now))
        tokens = min(
            float(limits.per_chat_burst), tokens + (now - stamp) * limits.per_chat_per_second
        )
        if tokens < 1.0:
            waits.append((1.0 - tokens) / limits.per_chat_per_second)
        window = self._global_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= limits.global_per_second:
            waits.append(window[0] + 1.0 - now)
        group_window: deque[float] | None = None
        if is_group:
            group_window = self._group_windows.setdefault(chat_id, deque())
            while group_window and group_window[0] <= now - 60.0:
                group_window.popleft()
            if len(group_window) >= limits.per_group_per_minute:
                waits.append(group_window[0] + 60.0 - now)
        if waits:
            self._buckets[chat_id] = (tokens, now)
            retry_after = max(1, math.ceil(max(waits)))
            self.hits.append((method, chat_id, retry_after))
            return retry_after
        self._buckets[chat_id] = (tokens - 1.0, now)
        window.append(now)
        if group_window is not None:
            group_window.append(now)
        return None


@dataclass
class FaultPlan:
    """Shares (0..1) of calls that fail; decisions come from random.Random(seed)."""

    seed: int = 0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    delay_rate: float = 0.0
    delay_seconds: tuple[float, float] = (0.01, 0.05)
    # Share of calls refused with 429 and `retry_after` (Telegram's flood control): the
    # call is never applied, whatever after_effect_rate says.
    flood_rate: float = 0.0
    flood_retry_after: int = 1
    # Share of errors/drops that strike after the call took effect (the message was sent
    # but the bot never learns it), which is what makes retries produce duplicates; for
    # a delay, the share whose answer is late rather than the call (the message is in
    # the chat while the bot still waits: what a crash or outage in that moment loses).
    after_effect_rate: float = 0.0
    methods: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset({"getUpdates"})


@dataclass
class FaultDecision:
    kind: str  # "ok", "error500", "error502", "drop", "delay", "flood"
    after_effect: bool = False
    delay: float = 0.0
    retry_after: int = 0


@dataclass
class FaultInjector:
    plan: FaultPlan | None = None
    log: list[tuple[str, str]] = field(default_factory=list)
    _rng: random.Random = field(default_factory=random.Random)

    def configure(self, plan: FaultPlan | None) -> None:
        self.plan = plan
        self.log.clear()
        self._rng = random.Random(plan.seed if plan else 0)

    def decide(self, method: str) -> FaultDecision:
        plan = self.plan
        if plan is None or method in plan.exclude:
            return FaultDecision("ok")
        if plan.methods is not None and method not in plan.methods:
            return FaultDecision("ok")
        rng = self._rng
        roll = rng.random()
        after = rng.random() < plan.after_effect_rate
        delay = rng.uniform(*plan.delay_seconds)
        if roll < plan.error_rate:
            decision = FaultDecision("error500" if rng.random() < 0.5 else "error502", after)
        elif roll < plan.error_rate + plan.drop_rate:
            decision = FaultDecision("drop", after)
        elif roll < plan.error_rate + plan.drop_rate + plan.delay_rate:
            decision = FaultDecision("delay", after, delay=delay)
        elif roll < plan.error_rate + plan.drop_rate + plan.delay_rate + plan.flood_rate:
            decision = FaultDecision("flood", retry_after=plan.flood_retry_after)
        else:
            decision = FaultDecision("ok")
        self.log.append((method, decision.kind))
        return decision
