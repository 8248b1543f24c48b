#--web true
#--kind python:default
#--param MILVUS_HOST $MILVUS_HOST
#--param MILVUS_TOKEN $MILVUS_TOKEN
#--timeout 300000
#--memory 2048
"""Fills a 1024-dimensional collection up to `fill` vectors, in batches of 1,000 (answering
how long the inserts took), or finds the nearest 5 to a random vector: with Milvus
(`search`), or by a brute-force numpy scan of the same vectors (`floor`), as a vector action
keeps a warm client."""
import time

import numpy as np
from pymilvus import MilvusClient

DIMENSIONS = 1024
BATCH = 1000
_client = None
_vectors = np.zeros((0, DIMENSIONS), dtype=np.float32)  # what was inserted, for the floor


def batch(start):
    """The same vectors for the same ids, whichever worker makes them."""
    return np.random.default_rng(start).random((BATCH, DIMENSIONS), dtype=np.float32)


def main(args):
    global _client, _vectors
    if _client is None:
        _client = MilvusClient(uri=f"http://{args['MILVUS_HOST']}", token=args["MILVUS_TOKEN"])
    if args.get("fill"):
        wanted = int(args["fill"])
        if not _client.has_collection("bench"):
            _client.create_collection("bench", dimension=DIMENSIONS)
        have = _client.get_collection_stats("bench")["row_count"]
        took = 0.0
        for start in range(have, wanted, BATCH):
            rows = batch(start)
            began = time.perf_counter()
            _client.insert("bench", [{"id": start + i, "vector": row.tolist()}
                                     for i, row in enumerate(rows)])
            took += time.perf_counter() - began
        return {"body": {"inserted": wanted - have, "seconds": took}}
    query = np.random.default_rng().random(DIMENSIONS, dtype=np.float32)
    if args.get("floor"):
        count = _client.get_collection_stats("bench")["row_count"]
        if len(_vectors) != count:
            _vectors = np.vstack([batch(start) for start in range(0, count, BATCH)])
            _vectors /= np.linalg.norm(_vectors, axis=1, keepdims=True)
        scores = _vectors @ (query / np.linalg.norm(query))
        nearest = np.argpartition(-scores, 5)[:5]
        return {"body": {"ok": len(nearest) == 5}}
    hits = _client.search("bench", data=[query.tolist()], limit=5)
    return {"body": {"ok": len(hits[0]) == 5}}
