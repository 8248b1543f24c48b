"""Dev vectors for the embedding routes: deterministic, cheap, and honest about what they are.

Each lower-cased word is hashed to one of the model's dimensions (as many as the real model
has: `mxbai-embed-large` 1024, `nomic-embed-text` 768, `all-minilm` 384; others from the
reply script's `[embedding_dimensions]`, else DIMENSIONS), with a sign from the same hash;
the sum is scaled to unit length. Texts that share words point the same way, so a
vector-search lesson finds the right passage for word-level questions, but these are hashes
of words, not meanings: every answer says so in its `X-Streamwhisk-Dev-Vectors` header.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping

DIMENSIONS = 768  # as nomic-embed-text, the embedding model Ollama's docs start with
# the embedding models of Ollama's library the course and its projects use, by family
KNOWN_DIMENSIONS = {"mxbai-embed-large": 1024, "nomic-embed-text": 768, "all-minilm": 384,
                    "snowflake-arctic-embed": 1024, "bge-m3": 1024, "bge-large": 1024}
LABEL = {"X-Streamwhisk-Dev-Vectors": "hashed words, not meanings (streamwhisk dev Ollama)"}
_WORD = re.compile(r"\w+")


def dimensions_of(model: str, configured: Mapping[str, int] | None = None) -> int:
    """The model's size: the script's word for it (by name, or by family: `all-minilm:l6`
    as `all-minilm`), else the library's, else DIMENSIONS."""
    family = model.split(":")[0]
    for table in (configured or {}, KNOWN_DIMENSIONS):
        for name in (model, family):
            if name in table:
                return int(table[name])
    return DIMENSIONS


def dev_vector(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "big") % dimensions
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        vector[0], norm = 1.0, 1.0  # an empty text still gets a unit vector
    return [v / norm for v in vector]
