#--web true
#--kind python:default
#-a provide-api-key true
#--param USERNAME $OPSDEV_USERNAME
"""The chats the web page offers, in the platform's index format:

    {"username": "...", "services": {"Chat": [{"name": "Stateless", "url": "chat/stateless"}]}}

Every action with an `index` annotation is listed: `#--annotation index '30:Chat:Stateless'`
reads order 30, group Chat, name Stateless; groups come in the order of their first chat. The
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
    chat = {"name": name or action["name"],
            "url": f"{package}/{action['name']}" if package else action["name"]}
    if notes.get("description"):
        chat["description"] = notes["description"]
    return rank, group or "Chats", chat


def services(entries):
    grouped = {}
    for _, group, chat in sorted(entries, key=lambda e: (e[0], e[2]["name"])):
        grouped.setdefault(group, []).append(chat)
    return grouped


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
    return {"body": {"username": args.get("USERNAME", ""), "services": services(entries)}}
