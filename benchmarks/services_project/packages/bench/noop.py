#--web true
def main(args):
    return {"body": {"ok": True}}
