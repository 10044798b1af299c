"""What cosmos says when a fact it announced turns out not to have happened."""

from __future__ import annotations

import dataclasses

from collectors.models.notify import Notification, Severity


def reorg_correction(original: Notification) -> tuple[Notification, Notification]:
    """A chain reorg removed the block of an announced transfer or reward.

    Returns the correction (a message of its own, sent at once even when rewards are
    batched) and the original as it should now read: struck through.
    """
    block = dict(original.fields).get("Block", "")
    where = f"block {block}" if block else "the block"
    correction = Notification(
        dedupe_key=f"reorg:{original.dedupe_key}",
        topic=original.topic,
        severity=Severity.WARNING,
        title=f"Correction (chain reorg): {original.title} — did not happen",
        body=(
            f"The chain reorganised (a reorg) and {where} that held this is no longer part of "
            "it, so it is not counted in your totals. If it is included again in a new block, "
            "you get a new message."
        ),
        fields=original.fields,
        occurred_us=original.occurred_us,
        route=original.route,
        immediate=True,
    )
    struck = dataclasses.replace(
        original,
        severity=Severity.WARNING,
        title=f"~~{original.title}~~",
        body=f"Undone by a chain reorg: this did not happen. {original.body}".strip(),
        url=None,
    )
    return correction, struck
