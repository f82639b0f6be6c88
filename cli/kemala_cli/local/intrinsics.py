"""A small resolver for the CloudFormation intrinsic functions the local stack meets.

It knows each resource's `Ref` value and attributes (filled in by resources.py as names are chosen and
resources are created) and the parameter values. Anything it cannot resolve is an error naming the
expression, never a silent placeholder.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


class Unresolvable(ValueError):
    """An intrinsic function the local stack cannot evaluate (names the expression)."""


class Resolver:
    def __init__(self, parameters: Mapping[str, Any], conditions: Mapping[str, Any] | None = None) -> None:
        self.parameters = dict(parameters)
        self.conditions = dict(conditions or {})
        self.refs: dict[str, Any] = {}
        self.attrs: dict[tuple[str, str], Any] = {}

    def set(self, logical_id: str, ref: Any, **attrs: Any) -> None:
        self.refs[logical_id] = ref
        for name, value in attrs.items():
            self.attrs[(logical_id, name)] = value

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise Unresolvable(f"Ref {name!r}: no such parameter or resource (yet)")

    def get_att(self, logical_id: str, attr: str) -> Any:
        try:
            return self.attrs[(logical_id, attr)]
        except KeyError:
            raise Unresolvable(f"Fn::GetAtt {logical_id}.{attr} is not known locally") from None

    def resolve(self, node: Any) -> Any:
        """`node` with every intrinsic function replaced by its value (recursively)."""
        if isinstance(node, list):
            return [v for v in (self.resolve(x) for x in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, arg)
        out = {}
        for k, v in node.items():
            value = self.resolve(v)
            if value is not _NO_VALUE:
                out[k] = value
        return out

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise Unresolvable(f"condition {name!r} is not defined")
        return bool(self.resolve(self.conditions[name]))

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                value = variables[name]
            elif "." in name and name.split(".", 1)[0] not in self.parameters:
                value = self.get_att(*name.split(".", 1))
            else:
                value = self.ref(name)
            return value if isinstance(value, str) else json.dumps(value)

        return _SUB_VAR.sub(replace, text).replace("${!", "${")


_NO_VALUE = object()


def _ref(r: Resolver, arg: Any) -> Any:
    return _NO_VALUE if arg == "AWS::NoValue" else r.ref(arg)


def _get_att(r: Resolver, arg: Any) -> Any:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    return r.get_att(str(r.resolve(arg[0])), str(r.resolve(arg[1])))


def _join(r: Resolver, arg: Any) -> str:
    return str(arg[0]).join(str(x) for x in r.resolve(arg[1]))


def _select(r: Resolver, arg: Any) -> Any:
    return r.resolve(arg[1])[int(r.resolve(arg[0]))]


def _split(r: Resolver, arg: Any) -> list[str]:
    return str(r.resolve(arg[1])).split(arg[0])


def _if(r: Resolver, arg: Any) -> Any:
    return r.resolve(arg[1] if r.condition(arg[0]) else arg[2])


_FUNCTIONS: dict[str, Any] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": lambda r, a: r._sub(a),
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": lambda r, a: r.resolve(a[0]) == r.resolve(a[1]),
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
    "Fn::And": lambda r, a: all(r.resolve(x) for x in a),
    "Fn::Or": lambda r, a: any(r.resolve(x) for x in a),
    "Condition": lambda r, a: r.condition(a),
    "Fn::ToJsonString": lambda r, a: json.dumps(r.resolve(a), separators=(",", ":")),
    "Fn::Base64": lambda r, a: base64.b64encode(str(r.resolve(a)).encode()).decode(),
}
