"""To a cluster: what a project deploys to OpenWhisk (`artifacts.py`, `archive.py`), the REST
client that sends it (`client.py`), what was deployed where (`records.py`), the deploy,
undeploy and devel flows (`deployer.py`, `devel.py`) and their commands (`commands.py`)."""
