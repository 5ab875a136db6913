"""What the feature routers of one app tell each other: state prompts, deep links, commands, role
commands, outbox renderers and which callback factory owns which prefix.

Every app builds its own `Registry` (handlers.setup_routers), so two apps in one process (two
replicas in a test, the demo next to a test) never see each other's entries. A feature module fills
it from its `make_router(registry)`::

    def make_router(registry: Registry) -> Router:
        router = Router(name="catalog")
        router.callback_query.register(open_profile, ProfileCb.filter())
        registry.state_prompt(Browse.profile, ask_profile)   # the fallback repeats it on nonsense
        registry.deep_link("pro", open_link)                 # /start pro_<slug>
        registry.command("bookings", lambda: _("Your sessions"))
        registry.renderers.register("booking_new_pro")(booking_new_pro)
        return router

Handlers reach the registry of their app as `ctx.registry`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State
from aiogram.types import TelegramObject, Update

from bot.render import Rendered, RendererRegistry

if TYPE_CHECKING:
    from handlers.common import Flow

Prompt = Callable[["Flow"], Awaitable[Rendered]]
DeepLinkOpener = Callable[["Flow", str], Awaitable[Rendered]]
RoleCommands = Callable[["Flow"], Awaitable[list["CommandInfo"]]]
# Greets a person in a role (a linked professional) on /start and returns True; False for everyone else.
RoleHome = Callable[["Flow"], Awaitable[bool]]

# The deep-link prefix of the screen /start shows an onboarded person (the catalog's "browse" screen).
HOME = ""


@dataclass(frozen=True)
class CommandInfo:
    name: str
    describe: Callable[[], str]


@dataclass
class Registry:
    renderers: RendererRegistry = field(default_factory=RendererRegistry)
    _prompts: dict[str, Prompt] = field(default_factory=dict)
    _deep_links: dict[str, DeepLinkOpener] = field(default_factory=dict)
    _commands: dict[str, CommandInfo] = field(default_factory=dict)
    _role_commands: list[RoleCommands] = field(default_factory=list)
    _role_homes: list[RoleHome] = field(default_factory=list)
    _callback_owners: dict[str, str] = field(default_factory=dict)
    _read_only_prefixes: set[str] = field(default_factory=set)

    # -- state prompts -----------------------------------------------------------------------------

    def state_prompt(self, state: State, prompt: Prompt) -> None:
        """Register the question a state asks, so the fallback can ask it again (and so can the handler
        that enters the state: ``await ctx.state.set_state(S.x); await send(ctx, await ask_x(ctx))``)."""
        if state.state is None:
            raise ValueError("a state prompt needs a state that belongs to a StatesGroup")
        self._prompts[state.state] = prompt

    def prompt_for(self, state_name: str | None) -> Prompt | None:
        return self._prompts.get(state_name) if state_name else None

    # -- deep links --------------------------------------------------------------------------------

    def deep_link(self, prefix: str, opener: DeepLinkOpener) -> None:
        """Register what `/start <prefix>_<argument>` opens, after onboarding (handlers/start.py).

        The opener gets the argument and returns the first screen; it may set an FSM state."""
        existing = self._deep_links.get(prefix)
        if existing is not None and existing is not opener:
            raise ValueError(f"deep link prefix {prefix!r} is registered twice")
        self._deep_links[prefix] = opener

    def home_screen(self, opener: DeepLinkOpener) -> None:
        """Register the screen /start shows an onboarded person; the opener's argument is always empty."""
        self.deep_link(HOME, opener)

    def deep_link_opener(self, payload: str) -> tuple[DeepLinkOpener, str] | None:
        """The opener and its argument for a /start payload ("pro_anna-koval"), or None."""
        prefix, separator, argument = payload.partition("_")
        entry = self._deep_links.get(prefix)
        if not prefix or not separator or not argument or entry is None:
            return None
        return entry, argument

    async def open_home(self, ctx: Flow) -> Rendered:
        return await self._deep_links[HOME](ctx, "")

    def role_home(self, greeter: RoleHome) -> None:
        """Register how /start greets someone in a role instead of with the client's home screen (and
        before the client onboarding): the greeter sends its screen and returns True, or returns False
        for everyone not in its role."""
        if greeter not in self._role_homes:
            self._role_homes.append(greeter)

    async def greet_by_role(self, ctx: Flow) -> bool:
        for greeter in self._role_homes:
            if await greeter(ctx):
                return True
        return False

    # -- commands ----------------------------------------------------------------------------------

    def command(self, name: str, describe: Callable[[], str]) -> None:
        """List a command in /help and in Telegram's command menu (setMyCommands), in registration order.

        `describe` is called in the reader's locale: ``registry.command("bookings", lambda: _("Your sessions"))``.
        """
        self._commands[name] = CommandInfo(name, describe)

    def commands(self) -> list[CommandInfo]:
        return list(self._commands.values())

    def role_commands(self, provider: RoleCommands) -> None:
        """Register the extra commands a person has in a role (a linked professional's /agenda, say), so
        /help lists them for that person only; the feature that owns the role decides who has it."""
        if provider not in self._role_commands:
            self._role_commands.append(provider)

    async def commands_for(self, ctx: Flow) -> list[CommandInfo]:
        """What /help lists for this person: the public commands, then those of their roles."""
        found = self.commands()
        for provider in self._role_commands:
            found.extend(await provider(ctx))
        return found

    # -- callback data -----------------------------------------------------------------------------

    def read_only_callbacks(self, *factories: type[CallbackData]) -> None:
        """Declare that presses of these buttons only read the database: their update's transaction then
        never takes SQLite's write lock, so they never wait behind a booking being written
        (bot/middlewares/database.py). A write in one of them fails loudly (models/db.py's guard)."""
        self._read_only_prefixes.update(factory.__prefix__ for factory in factories)

    def reads_only(self, event: TelegramObject) -> bool:
        """Whether this update is a press of a button declared read-only."""
        query = event.callback_query if isinstance(event, Update) else None
        if query is None or not query.data:
            return False
        return query.data.partition(":")[0] in self._read_only_prefixes

    def claim_callbacks(self, router: Router) -> None:
        """Record the callback factories `router` (and its sub-routers) handle; two factories with one
        prefix would take each other's buttons, so that is refused."""
        for each in router.chain_tail:
            for handler in each.callback_query.handlers:
                for filter_object in handler.filters or ():
                    if isinstance(filter_object.callback, CallbackQueryFilter):
                        factory = filter_object.callback.callback_data
                        prefix = factory.__prefix__
                        owner = f"{factory.__module__}.{factory.__qualname__}"
                        taken = self._callback_owners.setdefault(prefix, owner)
                        if taken != owner:
                            raise ValueError(f"{owner}: callback prefix {prefix!r} is taken by {taken}")
