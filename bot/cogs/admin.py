"""/wipe: clear stored data, after a confirmation button; administrators only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._reply import say
from collectors.models.views import Scope

if TYPE_CHECKING:
    from bot.context import BotContext

SCOPE_CHOICES = [app_commands.Choice(name=s.value, value=s.value) for s in Scope]


def is_admin(interaction: discord.Interaction, admin_role_id: int | None) -> bool:
    """Administrator permission (as Discord resolved it for this channel), or the admin role."""
    if interaction.permissions.administrator:
        return True
    user = interaction.user
    if admin_role_id is None or not isinstance(user, discord.Member):
        return False
    return user.get_role(admin_role_id) is not None


class ConfirmWipe(discord.ui.View):
    def __init__(self, ctx: BotContext, scope: Scope, target: str | None, user_id: int) -> None:
        super().__init__(timeout=60)
        self.ctx = ctx
        self.scope = scope
        self.target = target
        self.user_id = user_id
        self.done = False

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(label="Wipe", style=discord.ButtonStyle.danger, custom_id="wipe:confirm")
    async def confirm(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmWipe]
    ) -> None:
        self.done = True
        self.stop()
        try:
            result = await self.ctx.wipe.wipe(self.scope, self.target)
        except ValueError as exc:
            await interaction.response.edit_message(content=f"Not wiped: {exc}", view=None)
            return
        tables = ", ".join(result.tables) or "nothing stored"
        await interaction.response.edit_message(
            content=f"Wiped {result.rows} rows ({tables}).", view=None
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="wipe:cancel")
    async def cancel(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmWipe]
    ) -> None:
        self.done = True
        self.stop()
        await interaction.response.edit_message(content="Nothing wiped.", view=None)


class AdminCog(commands.Cog):
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    @app_commands.command(name="wipe", description="Clear stored data (asks to confirm)")
    @app_commands.describe(scope="what to clear", target="farm id, farmer name or wallet label")
    @app_commands.choices(scope=SCOPE_CHOICES)
    @app_commands.default_permissions(administrator=True)
    @app_commands.guild_only()
    async def wipe(
        self,
        interaction: discord.Interaction,
        scope: app_commands.Choice[str],
        target: str | None = None,
    ) -> None:
        # default_permissions can be changed by the server's admins: check here too.
        if not is_admin(interaction, self.ctx.services.settings.discord.admin_role_id):
            await say(interaction, "Only administrators can wipe data.")
            return
        chosen = Scope(scope.value)
        if chosen is not Scope.ALL and not target:
            await say(interaction, f"Name the {chosen.value} to wipe (the target option).")
            return
        what = "ALL stored data" if chosen is Scope.ALL else f"{chosen.value} {target}"
        await interaction.response.send_message(
            f"Wipe {what}? This cannot be undone.",
            view=ConfirmWipe(self.ctx, chosen, target, interaction.user.id),
            ephemeral=True,
        )
