#--web true
#--param REDIS_URL $REDIS_URL
#--param REDIS_PREFIX $REDIS_PREFIX
"""One Redis GET per call, on a connection kept by the warm worker (as a cache action does)."""
import redis

_client = None


def main(args):
    global _client
    if _client is None:
        _client = redis.from_url(args["REDIS_URL"])
    value = _client.get(f"{args['REDIS_PREFIX']}bench")
    return {"body": {"ok": True, "value": value.decode() if value else None}}
