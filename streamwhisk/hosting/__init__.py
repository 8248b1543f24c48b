"""Generic HTTP hosting, knowing nothing of OpenWhisk: serving apps under uvicorn (and TLS
beside plain HTTP on one address), the limits on what a client may send, and the Host and
origin rules."""

# Where a server started by another program says its address once it listens (launch.py)
READY_FILE = "STREAMWHISK_READY_FILE"
