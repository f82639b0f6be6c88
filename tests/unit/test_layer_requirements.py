"""The Lambda layer installs what the code needs: layers/kemala/requirements.txt matches the project's
runtime dependencies (boto3 aside: the Lambda runtime provides it)."""

import re
import tomllib

from tests.conftest import PROJECT_ROOT


def _requirements(lines: list[str]) -> dict[str, str]:
    specs = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower()
            specs[name] = line.replace(" ", "")
    return specs


def test_layer_requirements_match_the_project_dependencies() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = (PROJECT_ROOT / "layers" / "kemala" / "requirements.txt").read_text().splitlines()
    expected = {k: v for k, v in _requirements(project).items() if k != "boto3"}
    assert _requirements(layer) == expected


def test_twitter_text_can_load_its_emoji_table() -> None:
    from kemala.x.reply_text import validate_reply_text

    assert validate_reply_text("halo 🙏🏽 jalan sudah diperbaiki").weighted_length > 0
