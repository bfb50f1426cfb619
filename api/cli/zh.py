"""Typer's and Click's own words in Chinese: help layout, usage lines and usage errors.

Typer 0.29 vendors Click (``typer._click``) with its messages as plain English strings, no longer
through ``gettext``, and its Rich help reads its labels from module constants of
``typer.rich_utils``. So no message catalog can reach them; instead:

- the Rich labels (panel titles, ``[default: …]``, ``[required]``, the error hint) are replaced
  in ``typer.rich_utils`` when this module is imported, and so is its highlighter, to wrap
  Chinese lines; so are the type labels of parameters (``<str>`` → ``<文本>``; a flag shows
  none), which Typer builds from the annotations;
- ``Typer`` below makes every command and group of the app a ``Command`` / ``Group`` of this
  module, which write ``用法：`` and ``[选项]`` in the usage line and give ``--help`` a Chinese
  help;
- ``Group`` catches Click's usage errors (unknown option or command, missing or bad value) where
  they are raised, below Typer's own handler, and raises them again with a Chinese message built
  from the exception's fields, so both Typer's error panel and ``api.cli.main``'s one line are
  Chinese. The exit code stays 2.

``tests/test_cli_chinese.py`` fails on an English word in any ``--help`` or usage error, so a
Typer upgrade that renames a constant or a message shows up there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import typer
from rich.text import Text
from typer import rich_utils
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperCommand, TyperGroup

HELP_OPTION_HELP = "显示此帮助并退出"
USAGE_PREFIX = "用法："
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."

RICH_LABELS = {
    "DEPRECATED_STRING": "（已弃用）",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "查看帮助：[blue]'{command_path} {help_option}'[/]",
}
"""The labels of Typer's Rich help and error panels, by their name in ``typer.rich_utils``."""


class _FoldingHighlighter(rich_utils.OptionHighlighter):
    """Typer's highlighter of help text, which also lets the text fold at any character.

    Rich breaks lines only at spaces and cuts a longer run off with "…" in the narrow help
    column; a Chinese sentence is one such run. Every help text passes through this object.
    """

    def highlight(self, text: Text) -> None:
        super().highlight(text)
        text.overflow = "fold"


for _name, _label in {**RICH_LABELS, "highlighter": _FoldingHighlighter()}.items():
    if not hasattr(rich_utils, _name):  # renamed by a Typer upgrade: say so, not stay English
        raise RuntimeError(f"typer.rich_utils has no {_name}")
    setattr(rich_utils, _name, _label)

TYPE_LABELS = {
    "str": "文本",
    "int": "整数",
    "float": "数值",
    "path": "路径",
    "file": "文件",
    "directory": "文件夹",
    "int range": "整数",
    "float range": "数值",
    "datetime": "日期时间",
    "list[str]": "文本",
    "list[int]": "整数",
}
"""Chinese for Typer's type labels (``<str>``); a range's bounds are in the help text."""

_display_type = typer.core._TyperParameter.display_type


def _display_type_zh(param: Any, ctx: Any) -> str:
    """The parameter's type label in Chinese, none for a flag; choices stay as they are typed."""
    label = _display_type(param, ctx)[1:-1]
    if label == "bool":
        return ""
    return f"<{TYPE_LABELS.get(label, label)}>"


typer.core._TyperParameter.display_type = _display_type_zh  # type: ignore[assignment,method-assign]

MESSAGES = [
    (
        r"No such command '(?P<name>.*?)'\.?(?: Did you mean (?P<like>.*)\?)?",
        "没有 '{name}' 这个命令",
    ),
    (r"Missing command\.", "缺少命令"),
    (r"Got unexpected extra argument\(s\) \((?P<args>.*)\)", "多余的参数：'{args}'"),
    (r"Argument '(?P<name>.*)' takes (?P<n>\d+) values\.", "参数 '{name}' 要 {n} 个值"),
    (r"(?:file|directory|path) '(?P<name>.*)' does not exist\.", "'{name}' 不存在"),
    (r"(?:file|directory|path) '(?P<name>.*)' is a file\.", "'{name}' 是文件，应为文件夹"),
    (r"(?:file|directory|path) '(?P<name>.*)' is a directory\.", "'{name}' 是文件夹，应为文件"),
    (r"(?:file|directory|path) '(?P<name>.*)' is not readable\.", "'{name}' 无权读取"),
    (r"(?:file|directory|path) '(?P<name>.*)' is not writable\.", "'{name}' 无权写入"),
]
"""Click's free-text messages, as patterns over the English, and their Chinese."""

VALUE_ERRORS = {
    "int_parsing": "{input!r} 不是整数",
    "int_from_float": "{input!r} 不是整数",
    "float_parsing": "{input!r} 不是数字",
    "bool_parsing": "{input!r} 应为 true 或 false",
    "greater_than_equal": "{input} 小于下限 {ge}",
    "greater_than": "{input} 应大于 {gt}",
    "less_than_equal": "{input} 大于上限 {le}",
    "less_than": "{input} 应小于 {lt}",
}
"""Pydantic's error types (Typer converts values with Pydantic) and their Chinese."""


def _choices(param: Any) -> str:
    """The choices of an option as the user types them (enum values), or ``""``."""
    choices = getattr(param, "type_descriptor", None) and param.type_descriptor.choices
    return "、".join(str(getattr(choice, "value", choice)) for choice in choices or ())


def _free_text(message: str) -> str:
    """A message of Click's in Chinese; one that no pattern knows stays as it is."""
    for pattern, chinese in MESSAGES:
        found = re.fullmatch(pattern, message.strip())
        if found:
            like = found.groupdict().get("like")
            return chinese.format(**found.groupdict()) + (f"（是不是 {like}？）" if like else "")
    return message


def value_error(error: Mapping[str, Any]) -> str | None:
    """One of Pydantic's errors in Chinese, or None for a kind ``VALUE_ERRORS`` lacks."""
    chinese = VALUE_ERRORS.get(error["type"])
    return chinese.format(input=error.get("input"), **error.get("ctx", {})) if chinese else None


def _reason(exc: BadParameter) -> str:
    """Why a value was refused: from Pydantic's error when Typer's conversion raised it."""
    errors = getattr(exc.__cause__, "errors", None)
    if errors is None:
        return _free_text(exc.message)
    error = errors()[0]
    choices = _choices(exc.param)
    if error["type"] == "value_error" and choices:
        return f"{error.get('input')!r} 不在可选值中（{choices}）"
    return value_error(error) or _free_text(exc.message)


def _hint(exc: BadParameter) -> str:
    if exc.param_hint is not None:
        hints = [exc.param_hint] if isinstance(exc.param_hint, str) else exc.param_hint
        return " / ".join(hints)
    return exc.param.get_error_hint() if exc.param is not None else ""


def usage_message(exc: UsageError) -> str:
    """The Chinese for one of Click's usage errors, from the fields it carries."""
    if isinstance(exc, NoSuchOption):
        like = f"（是不是 {'、'.join(sorted(exc.possibilities))}？）" if exc.possibilities else ""
        return f"没有 {exc.option_name} 这个选项{like}"
    if isinstance(exc, BadOptionUsage):
        if exc.message.endswith("does not take a value."):
            return f"选项 {exc.option_name} 后面不带值"
        return f"选项 {exc.option_name} 后面缺少值"
    if isinstance(exc, MissingParameter):
        kind = (
            "参数" if exc.param is not None and exc.param.param_type_name == "argument" else "选项"
        )
        choices = _choices(exc.param)
        known = f"，可选：{choices}" if choices else ""
        return f"缺少{kind} {_hint(exc)}{known}"
    if isinstance(exc, BadParameter):
        return f"{_hint(exc)} 的值不对：{_reason(exc)}"
    return _free_text(exc.message)


class ChineseUsageError(UsageError):
    """A usage error whose message is already Chinese (so an outer group passes it on)."""


def _chinese(exc: UsageError) -> UsageError:
    if isinstance(exc, (ChineseUsageError, NoArgsIsHelpError)):
        return exc
    return ChineseUsageError(usage_message(exc), ctx=exc.ctx)


class _Chinese:
    """The usage line and the ``--help`` option of a command or group, in Chinese."""

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=USAGE_PREFIX)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option


class Command(_Chinese, TyperCommand):
    """A Typer command with the usage line and ``--help`` in Chinese."""


class Group(_Chinese, TyperGroup):
    """A Typer group in Chinese that also turns the usage errors below it into Chinese."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except UsageError as exc:
            raise _chinese(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise _chinese(exc) from None


class Typer(typer.Typer):
    """``typer.Typer`` whose groups and commands are this module's: use it for every Typer of
    the command line, and ``tests/test_cli_chinese.py`` keeps it so."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            cls=Group,
            options_metavar=OPTIONS_METAVAR,
            subcommand_metavar=SUBCOMMAND_METAVAR,
            **kwargs,
        )

    def command(self, name: str | None = None, **kwargs: Any) -> Any:
        return super().command(name, cls=Command, **kwargs)
