#--web true
#--kind python:default
#--param MILVUS_HOST $MILVUS_HOST
#--param MILVUS_TOKEN $MILVUS_TOKEN
#--timeout 300000
#--memory 1024
"""Fills a 1024-dimensional collection with 10,000 vectors (`fill`), or searches it for the
nearest 5 to one vector (a warm client, as a vector action keeps one)."""
import random

from pymilvus import MilvusClient

_client = None
DIMENSIONS = 1024


def main(args):
    global _client
    if _client is None:
        _client = MilvusClient(uri=f"http://{args['MILVUS_HOST']}", token=args["MILVUS_TOKEN"])
    if args.get("fill"):
        if _client.has_collection("bench"):
            _client.drop_collection("bench")
        _client.create_collection("bench", dimension=DIMENSIONS)
        rng = random.Random(7)
        for start in range(0, int(args["fill"]), 1000):
            _client.insert("bench", [{"id": i, "vector": [rng.random() for _ in range(DIMENSIONS)]}
                                     for i in range(start, start + 1000)])
        return {"body": {"ok": True}}
    query = [random.random() for _ in range(DIMENSIONS)]
    hits = _client.search("bench", data=[query], limit=5)
    return {"body": {"ok": len(hits[0]) == 5}}
