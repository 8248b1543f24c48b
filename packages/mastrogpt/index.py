#--web true
#--kind python:default
#-a provide-api-key true
"""The chats the web page offers: every action with an `index` annotation, grouped, in order.

`#--annotation index '30:Chat:Stateless'` reads order 30, group Chat, name Stateless. The
actions come from the OpenWhisk REST API of whatever runs this action (streamwhisk locally, a
cluster when deployed), which `provide-api-key` lets it call.
"""

import os

import requests

TIMEOUT = (5, 30)


def entry(action):
    notes = {a["key"]: a["value"] for a in action.get("annotations", [])}
    index = notes.get("index")
    if not isinstance(index, str):
        return None
    order, _, rest = index.partition(":")
    group, _, name = rest.partition(":")
    package = action["namespace"].split("/", 1)[1] if "/" in action["namespace"] else ""
    try:
        rank = int(order)
    except ValueError:
        rank = 1_000_000
    return {"order": rank, "group": group or "Chats", "name": name or action["name"],
            "action": f"{package}/{action['name']}" if package else action["name"],
            "description": notes.get("description", "")}


def group(entries):
    groups = {}
    for item in sorted(entries, key=lambda e: (e["order"], e["name"])):
        groups.setdefault(item["group"], []).append(item)
    return [{"name": name, "chats": chats} for name, chats in groups.items()]


def main(args):
    host, key = os.getenv("__OW_API_HOST"), os.getenv("__OW_API_KEY")
    if not host or not key:
        return {"body": {"error": "mastrogpt/index needs the OpenWhisk API: run it on "
                                  "`streamwhisk up` or a cluster"}}
    user, _, password = key.partition(":")
    res = requests.get(f"{host}/api/v1/namespaces/_/actions", params={"limit": 200},
                       auth=(user, password), timeout=TIMEOUT)
    if res.status_code != 200:
        return {"body": {"error": f"listing actions failed with {res.status_code}"}}
    entries = [e for e in (entry(action) for action in res.json()) if e]
    return {"body": {"groups": group(entries)}}
