"""The dev Ollama's CA, trusted by this very process (tests call it as the project's code
does: `https://{AUTH}@{OLLAMA_HOST}`)."""

from __future__ import annotations

import os

from .. import devca


def trust_dev_ca() -> bool:
    """Make this process trust the dev Ollama's local CA beside the CAs it trusts already
    (its own bundle, or the public ones); False when there is no CA yet."""
    return devca.trust_dev_ca(os.environ)
