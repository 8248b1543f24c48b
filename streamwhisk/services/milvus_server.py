"""`python -m streamwhisk.services.milvus_server --data-dir D --host H --port P`: Milvus Lite's
gRPC server, as a Milvus standalone answers the cluster's client.

The cluster's runtime has pymilvus 2.5.3, whose `create_collection(name, dimension=N)` asks
for an index without naming its type, which a real Milvus takes as AUTOINDEX and Milvus Lite
refuses. This server's servicer names it AUTOINDEX then. And a Milvus standalone that restarts
serves the collections that were loaded before; this one loads each indexed collection at
start. A Milvus with authentication on refuses a call without its credentials; so does this
one, every call (the token, `root:<secret>`, comes in its environment, never on its command
line). Everything else is Milvus Lite's."""

from __future__ import annotations

import argparse
import base64
import hmac
import os
import signal
import sys
from concurrent import futures
from typing import Any

import grpc
from milvus_lite.adapter.grpc.servicer import MilvusServicer
from milvus_lite.db import MilvusLite
from pymilvus.grpc_gen import common_pb2, milvus_pb2_grpc

from .milvus import TOKEN

MAX_MESSAGE = 256 * 1024 * 1024  # as Milvus standalone
# what a Milvus server answers to a call with wrong credentials
REFUSED = "auth check failure, please check username and password are correct"


class TokenCheck(grpc.ServerInterceptor):  # type: ignore[misc]
    """Every call carries pymilvus's `authorization` (base64 of the token, or of
    user:password, which for root:<secret> is the same), or is refused."""

    def __init__(self, token: str) -> None:
        self._expected = base64.b64encode(token.encode())

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        given = dict(details.invocation_metadata).get("authorization", "")
        if hmac.compare_digest(given.encode() if isinstance(given, str) else given,
                               self._expected):
            return continuation(details)
        return _refusal(continuation(details))


def _refusal(handler: Any) -> Any:
    def refuse(request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSED)

    if handler is None:
        return None
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            refuse, handler.request_deserializer, handler.response_serializer)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            refuse, handler.request_deserializer, handler.response_serializer)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            refuse, handler.request_deserializer, handler.response_serializer)
    return grpc.stream_stream_rpc_method_handler(
        refuse, handler.request_deserializer, handler.response_serializer)


class ClusterLikeServicer(MilvusServicer):  # type: ignore[misc]
    def CreateIndex(self, request: Any, context: Any) -> Any:
        if not any(pair.key == "index_type" for pair in request.extra_params):
            request.extra_params.append(common_pb2.KeyValuePair(key="index_type",
                                                                value="AUTOINDEX"))
        return super().CreateIndex(request, context)


def load_what_was_loaded(db: Any) -> None:
    for database in db.list_databases():
        for name in db.list_collections(database_name=database):
            collection = db.get_collection(name, database_name=database)
            if collection._index_specs:
                collection.load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    token = os.environ.pop(TOKEN, "")
    if not token:
        sys.exit(f"milvus: no token in {TOKEN}: it would take any client")
    db = MilvusLite(options.data_dir)
    load_what_was_loaded(db)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10), interceptors=[
        TokenCheck(token)], options=[
        ("grpc.max_receive_message_length", MAX_MESSAGE),
        ("grpc.max_send_message_length", MAX_MESSAGE),
        ("grpc.so_reuseport", 0)])  # a port someone else holds is an error, not shared
    milvus_pb2_grpc.add_MilvusServiceServicer_to_server(ClusterLikeServicer(db), server)
    try:
        bound = server.add_insecure_port(f"{options.host}:{options.port}")
    except RuntimeError:
        bound = 0
    if not bound:
        sys.exit(f"milvus: cannot listen on {options.host}:{options.port}: "
                 "address already in use")
    server.start()
    print(f"milvus listening on {options.host}:{options.port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop(grace=2))
    try:
        server.wait_for_termination()
    finally:
        db.close()


if __name__ == "__main__":
    main()
