"""Dev vectors for the embedding routes: deterministic, cheap, and honest about what they are.

Each lower-cased word is hashed to one of DIMENSIONS coordinates, with a sign from the same
hash; the sum is scaled to unit length. Texts that share words point the same way, so a
vector-search lesson finds the right passage for word-level questions, but these are hashes
of words, not meanings: every answer says so in its `X-Streamwhisk-Dev-Vectors` header.
"""

from __future__ import annotations

import hashlib
import math
import re

DIMENSIONS = 768  # as nomic-embed-text, the embedding model Ollama's docs start with
LABEL = {"X-Streamwhisk-Dev-Vectors": "hashed words, not meanings (streamwhisk dev Ollama)"}
_WORD = re.compile(r"\w+")


def dev_vector(text: str) -> list[float]:
    vector = [0.0] * DIMENSIONS
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "big") % DIMENSIONS
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        vector[0], norm = 1.0, 1.0  # an empty text still gets a unit vector
    return [v / norm for v in vector]
