"""Replying within Discord's limits: embeds packed into messages, follow-ups for the rest."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.embeds import pack


async def reply(
    interaction: discord.Interaction,
    embeds: Sequence[discord.Embed],
    *,
    file: discord.File | None = None,
    ephemeral: bool = False,
) -> None:
    """First message as the response (or the first follow-up after a defer), then follow-ups."""
    messages = pack(embeds) or [[]]
    for i, group in enumerate(messages):
        files = [file] if file is not None and i == 0 else []
        if not interaction.response.is_done():
            await interaction.response.send_message(embeds=group, files=files, ephemeral=ephemeral)
        else:
            await interaction.followup.send(embeds=group, files=files, ephemeral=ephemeral)


async def say(interaction: discord.Interaction, text: str, *, ephemeral: bool = True) -> None:
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=ephemeral)
    else:
        await interaction.followup.send(text, ephemeral=ephemeral)
